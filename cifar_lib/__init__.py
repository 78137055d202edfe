"""cifar_lib: la biblioteca del curso «CIFAR-10 con redes neuronales».

Módulos, uno por tarea:

- :mod:`cifar_lib.config`: perfiles (``completo``, ``rapido``, ``prueba``) y validación de parámetros;
- :mod:`cifar_lib.data`: leer CIFAR-10 de una copia local o de la descarga oficial, dividir y escalar;
- :mod:`cifar_lib.models`: la red de cada paso, ``build_model(paso)``;
- :mod:`cifar_lib.augmentation`: el aumento de datos del informe como capa de Keras;
- :mod:`cifar_lib.training`: compilar, entrenar con reanudación y evaluar;
- :mod:`cifar_lib.results`: guardar resultados con su procedencia y la tabla resumen;
- :mod:`cifar_lib.plots`: curvas, imágenes, predicciones y matriz de confusión;
- :mod:`cifar_lib.runner` y :mod:`cifar_lib.cli`: ejecutar los cuadernos y la línea de órdenes.

Importar el paquete no importa Keras ni TensorFlow: cada módulo carga lo que necesita.
"""

__version__ = "1.0.0"
