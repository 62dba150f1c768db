"""DTL functions of ``dtl-functions-booleans.rst (and the is-* type tests of each chapter)``."""

from __future__ import annotations

import uuid
from decimal import Decimal

from generator.simulate.values import NI, URI, Datetime

from generator.simulate.dtl.core import FUNCTIONS, _arity, function, is_number, is_plain_str, single_or_list


@function("boolean")
def f_boolean(e, ctx, args):
    _arity("boolean", args, 1)

    def conv(v):
        if isinstance(v, bool):
            return v
        if is_number(v):
            return v != 0
        if is_plain_str(v):
            low = v.strip().lower()
            if low in ("true", "1", "yes", "on", "t", "y"):
                return True
            if low in ("false", "0", "no", "off", "f", "n"):
                return False
        return None
    return single_or_list(conv, e.ev(args[0], ctx))


def _type_test(pred):
    def test(e, ctx, args):
        _arity("is-*", args, 1)
        v = e.ev(args[0], ctx)
        if isinstance(v, list):
            return bool(v) and pred(v[0])
        return v is not None and pred(v)
    return test


FUNCTIONS["is-boolean"] = _type_test(lambda v: isinstance(v, bool))
FUNCTIONS["is-string"] = _type_test(is_plain_str)
FUNCTIONS["is-integer"] = _type_test(lambda v: isinstance(v, int) and not isinstance(v, bool))
FUNCTIONS["is-float"] = _type_test(lambda v: isinstance(v, float))
FUNCTIONS["is-decimal"] = _type_test(lambda v: isinstance(v, Decimal))
FUNCTIONS["is-datetime"] = _type_test(lambda v: isinstance(v, Datetime))
FUNCTIONS["is-ni"] = _type_test(lambda v: isinstance(v, NI))
FUNCTIONS["is-uri"] = _type_test(lambda v: isinstance(v, URI))
FUNCTIONS["is-uuid"] = _type_test(lambda v: isinstance(v, uuid.UUID))
FUNCTIONS["is-bytes"] = _type_test(lambda v: isinstance(v, (bytes, bytearray)))
FUNCTIONS["is-dict"] = _type_test(lambda v: isinstance(v, dict))


@function("is-list")
def f_is_list(e, ctx, args):
    _arity("is-list", args, 1)
    return isinstance(e.ev(args[0], ctx), list)
