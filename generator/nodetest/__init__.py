"""``pipegen test``: sesam-py's ``sesam test`` without a node.

Reads a node folder in sesam-py's layout (``pipes/``, ``systems/``, ``node-metadata.conf.json``,
``<profile>-env.json``, ``testdata/``, ``expected/``), runs the pipes the tests need on the
simulator, and compares each verified pipe's output with ``expected/`` exactly as sesam-py does.
See docs/test.md.
"""
