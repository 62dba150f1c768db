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

    What outlives the block (the loaded config, the rendered files) is
    long-lived: when the collector resumes, it would still pass over all of it
    once as young objects, then again as middle-aged ones (a fifth of a large
    config's load time). So the outermost block ends by freezing every object
    (``gc.freeze``: the collector skips them), and the next block starts by
    handing them back to the oldest generation, whose full passes are rare. A
    garbage cycle left by a block is thus collected by a later full pass, not
    by the next young one; none is kept for good.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.unfreeze()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()
