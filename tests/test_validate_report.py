"""The validate result and its reporters: counts, success on warnings, each problem once."""

from __future__ import annotations

import json

from generator.errors import Location, Problem
from generator.validation.report import REPORTERS, ValidationResult

WARNING = Problem(Location("pipes/a.conf.json", 3, 5), "$.sink", "a warning", "warning")
ERROR = Problem(Location("pipes/b.conf.json", 0, 0), "", "an error")


def test_warnings_alone_succeed_and_errors_fail():
    assert ValidationResult.of([WARNING]).success
    result = ValidationResult.of([WARNING, ERROR])
    assert not result.success and (result.errors, result.warnings) == (1, 1)


def test_a_problem_found_for_each_folder_is_reported_once():
    assert ValidationResult.of([WARNING, ERROR, WARNING]).problems == (WARNING, ERROR)


def test_the_reporters_give_file_line_column_and_path():
    assert REPORTERS["text"]([WARNING, ERROR]) == (
        "pipes/a.conf.json:3:5: $.sink: warning: a warning\npipes/b.conf.json: $: error: an error\n")
    assert json.loads(REPORTERS["json"]([WARNING]))[0] == {
        "file": "pipes/a.conf.json", "line": 3, "col": 5, "path": "$.sink", "level": "warning", "message": "a warning"}
