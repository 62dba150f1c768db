"""Pausing Python's cyclic garbage collector around allocation-heavy stages."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block.

    Loading, rendering and validating a large config allocate millions of
    acyclic lists and dicts; the collector's repeated passes over them cost as
    much as the work itself, and reference counting frees them anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
