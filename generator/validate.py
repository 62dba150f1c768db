"""The library API of ``pipegen validate`` under its first import path; it lives in ``generator.validation.api``.

Kept so that scripts written against ``from generator.validate import …`` keep working for a release.
"""

from generator.validation.api import *  # noqa: F401,F403
from generator.validation.api import __all__  # noqa: F401
