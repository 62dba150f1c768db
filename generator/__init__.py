"""pipegen: dataflow specs to Sesam node configs.

The package is a pipeline of stages, each in its own module and joined by
immutable, typed objects: load spec (``loader``) -> model (``model``) ->
render (``render``) -> validate -> write / plan / deploy / qa.
The CLI (``generator.cli``) is a thin layer over these functions.
"""

__version__ = "0.1.0"
