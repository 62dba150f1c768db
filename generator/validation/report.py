"""What ``pipegen validate`` found, as data, and the reporters that print it.

The checks return problems; this module decides nothing about them but how they read. A run fails
on errors only (warnings never fail it, ``errors.has_errors``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterable

from generator.errors import Problem, has_errors


@dataclass(frozen=True)
class ValidationResult:
    """The problems of one run over one or more folders, each once, in the order found."""

    problems: tuple[Problem, ...]

    @classmethod
    def of(cls, problems: Iterable[Problem]) -> "ValidationResult":
        # A --variables file's own problems are found once per folder: report them once.
        return cls(tuple(dict.fromkeys(problems)))

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.level == "error")

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors

    @property
    def success(self) -> bool:
        return not has_errors(self.problems)


def format_problem(problem: Problem) -> str:
    """``FILE:LINE:COL: $.json.path: level: message`` (``FILE: ...`` when the line is unknown)."""
    loc = problem.location
    where = f"{loc.file}:{loc.line}:{loc.col}" if loc.line else loc.file
    return f"{where}: {problem.path or '$'}: {problem.level}: {problem.message}"


def format_text(problems: Iterable[Problem]) -> str:
    return "".join(format_problem(p) + "\n" for p in problems)


def format_json(problems: Iterable[Problem]) -> str:
    """A JSON list of {file, line, col, path, level, message}, one object per problem."""
    rows = [
        {"file": p.location.file, "line": p.location.line, "col": p.location.col,
         "path": p.path or "$", "level": p.level, "message": p.message}
        for p in problems
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


REPORTERS: dict[str, Callable[[Iterable[Problem]], str]] = {"text": format_text, "json": format_json}
