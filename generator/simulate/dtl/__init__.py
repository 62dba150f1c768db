"""A DTL engine: evaluates Sesam's Data Transformation Language offline.

Semantics follow ``sesam-docs/hub/dtl/``: variables ``_S``/``_T``/``_P``/``_R``
and ``_`` (``variables.rst``), property paths that flatten lists and skip
nulls (``paths.rst``), joins that succeed when any value overlaps
(``joins.rst``), mixed type ordering, namespace-aware ``add``/``copy``/
``remove``/``path`` (``features/namespaces.rst``), and transit-encoded literals
(``"~:ns:id"`` is a namespaced identifier). Values are the decoded types of
``generator.simulate.values``.

A ``Transform`` runs one DTL rule set over a source entity and returns what the
pipe emits: the target entity (unless filtered or discarded) and everything
``create`` emitted. ``hops`` reads datasets through a ``DatasetLookup`` that
the pipe runner provides.

Where a function is not implemented, evaluation raises ``DTLError`` naming it,
so a config never silently runs with a different meaning.

The package follows the reference's chapters: ``core`` (errors, context,
registry), ``paths``, ``engine`` (``Transform``), ``transforms`` (the
statements) and ``functions/<chapter>`` (one module per ``dtl-functions-*.rst``).
"""

from __future__ import annotations

from generator.simulate.dtl import functions, transforms  # noqa: F401 - registers the functions
from generator.simulate.dtl.core import (FUNCTIONS, STATEMENTS, VARIABLES, Ctx, DatasetLookup, DTLError, Namespaces,
                                        Trip, as_list, first, single_or_list, truthy)
from generator.simulate.dtl.engine import Transform, fixed_clock, wall_clock
from generator.simulate.dtl.functions.dictionaries import apply_namespaces, strip_namespaces
from generator.simulate.dtl.functions.hops import _alias_refs
from generator.simulate.dtl.functions.sets import _distinct
from generator.simulate.dtl.paths import ns_wildcard, parse_path, traverse, wildcard
from generator.simulate.values import dumps

_parse_path = parse_path  # the name callers used before the split

__all__ = ["FUNCTIONS", "STATEMENTS", "VARIABLES", "Ctx", "DatasetLookup", "DTLError", "Namespaces", "Transform",
           "Trip", "apply_namespaces", "as_list", "dumps", "first", "fixed_clock", "ns_wildcard", "parse_path",
           "single_or_list", "strip_namespaces", "traverse", "truthy", "wall_clock", "wildcard", "_alias_refs",
           "_distinct", "_parse_path"]
