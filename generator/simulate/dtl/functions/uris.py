"""DTL functions of ``dtl-functions-uris.rst`` and ``dtl-functions-uuids.rst``."""

from __future__ import annotations

import urllib.parse
import uuid

from generator.simulate.dtl.core import first, function, is_plain_str, single_or_list
from generator.simulate.dtl.functions.numbers import _or_none
from generator.simulate.values import URI


@function("uri")
def f_uri(e, ctx, args):
    return single_or_list(lambda v: v if isinstance(v, URI) else (URI(v) if is_plain_str(v) else None),
                          e.ev(args[0], ctx))


@function("url-quote")
def f_url_quote(e, ctx, args):
    safe = first(e.ev(args[0], ctx)) if len(args) == 2 else ""
    return single_or_list(lambda s: urllib.parse.quote(s, safe=safe), e.ev(args[-1], ctx), keep=is_plain_str)


@function("url-unquote")
def f_url_unquote(e, ctx, args):
    return single_or_list(urllib.parse.unquote, e.ev(args[0], ctx), keep=is_plain_str)


@function("uuid")
def f_uuid(e, ctx, args):
    if not args:
        return uuid.uuid4()
    return single_or_list(_or_none(uuid.UUID), e.ev(args[0], ctx), keep=is_plain_str)
