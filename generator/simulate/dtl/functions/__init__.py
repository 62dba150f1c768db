"""The DTL expression functions, one module per chapter of ``hub/dtl/dtl-functions-*.rst``.

Importing this package registers every function in ``core.FUNCTIONS``; the list
below is the whole library, in the reference's order.
"""

from generator.simulate.dtl.functions import (  # noqa: F401 - imported to register their functions
    boolean_logic,
    booleans,
    bytes_json,
    comparisons,
    conditionals,
    date_and_time,
    dictionaries,
    encryption,
    hops,
    lists,
    namespaced_identifiers,
    nulls,
    numbers,
    phonenumbers,
    sets,
    strings,
    uris,
)
