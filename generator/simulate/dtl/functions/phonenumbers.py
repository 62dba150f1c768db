"""DTL functions of ``dtl-functions-phonenumbers.rst``: not simulated.

Parsing and formatting phone numbers needs Google's numbering-plan metadata (the
``phonenumbers`` library); without it a simulated result would differ from a node's. Both
functions therefore fail the pipe by name, as any function the simulator does not model does.
"""

from __future__ import annotations

from generator.simulate.dtl.core import not_simulated

not_simulated("phonenumber-parse", "phone numbers are not simulated (they need the numbering-plan metadata)")
not_simulated("phonenumber-format", "phone numbers are not simulated (they need the numbering-plan metadata)")
