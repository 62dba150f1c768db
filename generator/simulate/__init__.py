"""Offline simulation of a generated node config (``pipegen simulate``).

A simulation, clearly labelled as such: the node stays the engine. See
docs/simulate.md for what it models and where it differs from a node.
"""
