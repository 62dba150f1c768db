"""Sesam Talk dataflow documents (RST): read them into specs, write them from specs.

``import_docs(paths)`` reads documents into specs (one per pair of systems);
``render_docs(spec)`` writes a spec's documents back, one per direction. The
modules, in pipeline order: ``rst`` (the documents' RST subset, with docutils
as reference and fallback), ``parse`` (RST -> typed document), ``importer``
(documents -> specs -> YAML) and ``writer`` (spec -> RST).
"""

from generator.talkdoc.importer import ImportResult, import_docs, spec_yaml
from generator.talkdoc.writer import render_docs

__all__ = ["ImportResult", "import_docs", "render_docs", "spec_yaml"]
