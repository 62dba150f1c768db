"""The request log of the node commands (``-v``), scrubbed of the node token."""

from __future__ import annotations

import logging
import sys

from generator.node.redact import scrub

_HANDLER_NAME = "pipegen-node-verbose"


class _Redact(logging.Filter):
    """Last line of defence: scrub the token, in any spelling, from every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def configure_logging(verbosity: int) -> None:
    """-v: pipegen's request log; -vv: urllib3's too; none: warnings only.

    Re-entrant: ``cli.main`` calls it for every command (a library caller runs many in one process), so
    no command inherits the verbosity, or the handler's stream, of the one before."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    if verbosity <= 0:
        logging.getLogger("pipegen").setLevel(logging.WARNING)
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(_Redact())
    handler.setFormatter(logging.Formatter("pipegen: %(name)s: %(message)s"))
    root.addHandler(handler)
    logging.getLogger("pipegen").setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
