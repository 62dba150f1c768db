"""pipegen: dataflow specs to Sesam node configs.

The package is a pipeline of stages, one folder each, joined by immutable, typed
objects: spec (``spec.loader`` -> ``spec.model``) -> plan (``build.plan``) ->
render (``build.rules``, ``build.render``) -> validate (``validation``) ->
write / plan / deploy / qa (``build.generate``, ``node``, ``qa``).
The CLI (``generator.cli``) is a thin layer over these functions.
"""

__version__ = "0.1.0"
