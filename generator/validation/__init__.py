"""Checks behind ``pipegen validate``: schema, references and DTL lint of a node config folder."""
