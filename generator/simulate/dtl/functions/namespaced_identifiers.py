"""DTL functions of ``dtl-functions-namespaced-identifiers.rst``."""

from __future__ import annotations

from generator.simulate.dtl.core import first, function, is_plain_str, register, single_or_list
from generator.simulate.values import NI, URI


@function("ni")
def f_ni(e, ctx, args):
    if len(args) == 1:
        def one(v):
            if isinstance(v, NI):
                return v
            if isinstance(v, URI):
                return NI("_:" + str(v).rstrip("/").rpartition("/")[2])
            if is_plain_str(v):
                return NI(v) if ":" in v else None
            return None
        return single_or_list(one, e.ev(args[0], ctx))
    ns = first(e.ev(args[0], ctx))

    def one2(v):
        if isinstance(v, NI):
            return NI(f"{ns}:{v.ident}")
        if is_plain_str(v):
            return NI(f"{ns}:{v}")
        if isinstance(v, (int,)) and not isinstance(v, bool):
            return NI(f"{ns}:{v}")
        return None
    return single_or_list(one2, e.ev(args[1], ctx))


def _ni_part(which):
    def f(e, ctx, args):

        def one(v):
            if isinstance(v, NI):
                return v.ns if which == "ns" else v.ident
            if is_plain_str(v):
                text = v[2:] if v.startswith("~:") else v
                head, sep, tail = text.partition(":")
                if which == "ns":
                    return head if sep else ""
                return tail if sep else text
            return None
        return single_or_list(one, e.ev(args[0], ctx))
    return f


register("ni-ns", _ni_part("ns"))
register("ni-id", _ni_part("id"))
