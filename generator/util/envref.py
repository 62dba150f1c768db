"""The ``$ENV(name)`` and ``$SECRET(name)`` references inside Sesam config values.

A reference is ``$ENV(`` or ``$SECRET(``, a name without parentheses, then ``)``.
The name is never empty: ``$ENV()`` names no variable (``validate`` reports it as
"needs a name"), so it is not listed in ``variables.json`` nor expanded.
"""

from __future__ import annotations

import re

ENV_REF = re.compile(r"\$ENV\(([^()]+)\)")
SECRET_REF = re.compile(r"\$SECRET\(([^()]+)\)")
REF_START = re.compile(r"\$(ENV|SECRET)\(")  # where a reference begins, well-formed or not (for validation)
