"""QA: what a node config does, compared with what its specs (or dataflow documents) promise.

``recover`` reads pipes (from a folder or a node) into mappings per target
datatype, ``expected`` restates the specs in the same terms, ``compare`` lists
the differences, ``report`` renders them (text, JSON, JUnit, Markdown).
"""
