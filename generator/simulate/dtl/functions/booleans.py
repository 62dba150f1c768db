"""DTL functions of ``dtl-functions-booleans.rst``, and the ``is-*`` type tests of every chapter."""

from __future__ import annotations

import uuid
from decimal import Decimal

from generator.simulate.dtl.core import cast, function, is_plain_str, register
from generator.simulate.values import NI, URI, Datetime


def _to_boolean(v):
    """Booleans, and the strings "true" and "false" in any case; numbers and other values are
    not booleans (booleans.rst l.36: ``1234`` is ignored)."""
    if isinstance(v, bool):
        return v
    if is_plain_str(v):
        low = v.lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None


cast("boolean", _to_boolean)


def _type_test(name, pred):
    def test(e, ctx, args):
        v = e.ev(args[0], ctx)
        if isinstance(v, list):
            return bool(v) and pred(v[0])
        return v is not None and pred(v)
    return test


register("is-boolean", _type_test("is-boolean", lambda v: isinstance(v, bool)))
register("is-string", _type_test("is-string", is_plain_str))
register("is-integer", _type_test("is-integer", lambda v: isinstance(v, int) and not isinstance(v, bool)))
register("is-float", _type_test("is-float", lambda v: isinstance(v, float)))
register("is-decimal", _type_test("is-decimal", lambda v: isinstance(v, Decimal)))
register("is-datetime", _type_test("is-datetime", lambda v: isinstance(v, Datetime)))
register("is-ni", _type_test("is-ni", lambda v: isinstance(v, NI)))
register("is-uri", _type_test("is-uri", lambda v: isinstance(v, URI)))
register("is-uuid", _type_test("is-uuid", lambda v: isinstance(v, uuid.UUID)))
register("is-bytes", _type_test("is-bytes", lambda v: isinstance(v, (bytes, bytearray))))
register("is-dict", _type_test("is-dict", lambda v: isinstance(v, dict)))


@function("is-list")
def f_is_list(e, ctx, args):
    return isinstance(e.ev(args[0], ctx), list)
