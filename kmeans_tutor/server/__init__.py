"""The lesson server: :mod:`.serve` runs Voilà on the lessons with safe defaults
(the engine of ``kmeans-tutor serve``); :mod:`.lesson_kernels` is the plug-in the
Voilà process loads (a cap on kernels, a clear page when full, safe websockets);
``_jupyter/`` holds the page template. It uses the package; nothing in the
package uses it.
"""
