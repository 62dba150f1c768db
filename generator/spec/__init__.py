"""Stage 1: spec files (YAML, with the position of every value) into the immutable spec model.

``yamlpos`` reads YAML, ``loader`` checks it against the spec schema and builds ``model``;
``ids`` and ``additions`` hold the naming rules and the ``source: spec`` rows that the loader,
the plan and the document importer share.
"""
