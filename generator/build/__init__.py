"""Stages 2 and 3: from the spec model to the files of a node config folder.

``plan`` decides what the node needs (concepts, golden properties, targets, create rules);
``rules`` builds the DTL of each pipe; ``render`` fills the templates into portal-canonical JSON;
``generate`` validates and writes the folder (or checks it); ``summary`` says what it does.
"""
