"""User-facing problems and the exit codes every command shares.

A user error is never a traceback: it is a list of ``Problem`` objects, each
printed on one line as ``FILE:LINE:COL: key.path: message``. Internal errors
(bugs) are reported by the CLI as such and exit with ``EXIT_INTERNAL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

EXIT_OK = 0
EXIT_USER = 1  # user error or failed check
EXIT_CHANGES = 2  # changes present: plan, generate --check, qa differences
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, what a shell reports for a command it interrupted

Level = Literal["error", "warning"]  # a warning never fails a run


@dataclass(frozen=True, order=True)
class Location:
    """Where something came from: a file and a 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input."""

    location: Location
    path: str  # dotted key path inside the file, e.g. "flows[2].merge_on"
    message: str
    level: Level = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.level == "warning" else ""
        key = self.path or "$"
        return f"{self.location}: {key}: {prefix}{self.message}"


class PipegenError(Exception):
    """The root of pipegen's own exceptions, so that a caller of the library catches them as one.

    ``UserError`` is what the command line prints as problems; the others (a node that cannot be
    reached, a pipe the simulator cannot run, a DTL expression it cannot evaluate) are turned into
    problems or report entries by the stage that knows where they happened."""


class UserError(PipegenError):
    """Raised with every problem a stage found; the CLI prints them and exits 1."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def fail(file: str, message: str, *, line: int = 0, col: int = 0, path: str = "") -> UserError:
    """Shorthand for a single-problem ``UserError``."""
    return UserError([Problem(Location(file, line, col), path, message)])


def has_errors(problems: Iterable[Problem]) -> bool:
    """True when any problem is an error (warnings never fail a run)."""
    return any(p.level == "error" for p in problems)
