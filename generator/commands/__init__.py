"""One module per CLI command; each exposes ``register(sub: Subparsers) -> None``, which adds its parser
and sets ``run(args: argparse.Namespace) -> int``; the namespace goes no further than the command module."""

from __future__ import annotations

import argparse

# What ``ArgumentParser.add_subparsers`` returns; argparse names the type only privately.
Subparsers = argparse._SubParsersAction
