"""Building blocks of `pipegen validate`: JSON positions, cron expressions, $ENV/$SECRET tokens."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from generator.util.fsutil import read_tree
from generator.validation.api import validate_files
from generator.validation.cron import cron_error
from generator.dtl.catalog import case_results
from generator.validation.jsonpos import duplicate_key_paths, format_path, locate, parse
from generator.validation.refs import env_tokens

TEXT = '{\n  "a": [1, {"b-c": "x"}],\n  "d": {"e": null}\n}\n'


@pytest.mark.parametrize("path,expected", [
    ((), "$"),
    (("source", "datasets", 0), "$.source.datasets[0]"),
    (("operations", "employee-list", "url"), '$.operations["employee-list"].url'),
    (("rules", "default", 2, 1), "$.rules.default[2][1]"),
    (("a.b", "$ids"), '$["a.b"].$ids'),
])
def test_format_path(path, expected):
    assert format_path(path) == expected


@pytest.mark.parametrize("name,count,expected", [
    ("case", 2, [1]),  # CONDITION, THEN
    ("case", 3, [1, 2]),  # ... ELSE
    ("case", 4, [1, 3]),
    ("case-eq", 3, [2]),  # VALUE, VALUE_N, THEN
    ("case-eq", 4, [2, 3]),  # ... ELSE
    ("case-eq", 5, [2, 4]),
])
def test_case_results(name, count, expected):
    assert case_results(name, count) == expected


@pytest.mark.parametrize("path,key,expected", [
    ((), False, (1, 1)),
    (("a",), False, (2, 8)),
    (("a", 1, "b-c"), False, (2, 20)),
    (("a", 1, "b-c"), True, (2, 13)),
    (("d", "e"), False, (3, 14)),
    (("d", "missing"), False, (3, 8)),  # the deepest value that exists
    (("a", 7), False, (2, 8)),
])
def test_locate(path, key, expected):
    assert locate(TEXT, path, key=key) == expected


def test_parse_reports_syntax_errors_with_position():
    result = parse('{\n  "a": 1,\n}')
    assert (result.ok, result.line, result.col) == (False, 3, 1)
    assert result.error.startswith("invalid JSON: ")


def test_duplicate_keys_are_found_with_their_paths():
    text = '{"a": 1, "b": {"c": 1, "c": 2}, "a": [{"x": 1, "x": 1}]}'
    assert parse(text).duplicate_keys
    assert duplicate_key_paths(text) == [("b", "c"), ("a",), ("a", 0, "x")]
    assert not parse('{"a": {"a": 1}}').duplicate_keys


def random_json(rng: random.Random, depth: int = 0):
    """A random JSON value: nested objects and lists with awkward keys and strings."""
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-1000, 1000)
    if kind in (2, 3):
        return "".join(rng.choice('ab "\\,:{}[]\n\u00e5') for _ in range(rng.randrange(6)))
    if kind in (4, 5):
        return {f"k{rng.randrange(5)}{rng.choice(['', '-', ' ', '.'])}": random_json(rng, depth + 1)
                for _ in range(rng.randrange(5))}
    return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]


def _paths(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


@pytest.mark.parametrize("seed", range(40))
def test_locate_finds_every_value_in_any_layout(seed):
    rng = random.Random(seed)
    value = random_json(rng)
    indent = rng.choice([None, 0, 1, 2, 4])
    text = json.dumps(value, indent=indent, ensure_ascii=rng.random() < 0.5)
    lines = text.splitlines(keepends=True)
    for path, sub in _paths(value):
        line, col = locate(text, path)
        offset = sum(len(x) for x in lines[: line - 1]) + col - 1
        decoded, _ = json.JSONDecoder().raw_decode(text, offset)
        assert decoded == sub


@pytest.mark.parametrize("expression", [
    "* * * * *", "0 0 * * *", "*/15 * * * *", "0/5 14,18 * * ?", "0 9-17 * * MON-FRI", "30 2 1 JAN,JUL *",
    "0 0 L * ?", "0 0 ? * 6#3", "@hourly", "5,10-20/5 0-23/2 1-31 1-12 0-7",
])
def test_valid_cron(expression):
    assert cron_error(expression) is None


@pytest.mark.parametrize("expression,problem", [
    ("* * * *", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got 4"),
    ("0 0 * * * *", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got 6"),
    ("60 * * * *", "minute 60 is out of range 0-59"),
    ("0 24 * * *", "hour 24 is out of range 0-23"),
    ("0 0 0 * *", "day of month 0 is out of range 1-31"),
    ("0 0 * 13 *", "month 13 is out of range 1-12"),
    ("0 0 * FOO *", "invalid month 'FOO'"),
    ("*/0 * * * *", "invalid step '0' in the minute field"),
    ("10-5 * * * *", "range 10-5 in the minute field goes backwards"),
    ("? * * * *", "invalid minute '?'"),
    ("1,,2 * * * *", "invalid minute field ''"),
])
def test_invalid_cron(expression, problem):
    assert cron_error(expression) == problem


@pytest.mark.parametrize("text,tokens", [
    ("plain", []),
    ("$ENV(a)", [("ENV", "a", "")]),
    ("http://$ENV(host):$ENV(port)/x", [("ENV", "host", ""), ("ENV", "port", "")]),
    ("Bearer $SECRET(token)", [("SECRET", "token", "")]),
    ("$ENV(a-$SECRET(b))", [("ENV", "a-", "$SECRET(...) is nested inside $ENV(...); they cannot be nested"),
                             ("SECRET", "b", "")]),
    ("$ENV(a", [("ENV", "a", "$ENV( is not closed with ')'")]),
    ("$ENV()", [("ENV", "", "$ENV() needs a name")]),
    ("$ENVIRONMENT", []),
])
def test_env_tokens(text, tokens):
    assert list(env_tokens(text)) == tokens


def test_substituted_values_may_stand_for_any_type():
    files = read_tree(Path(__file__).parent / "fixtures" / "validate" / "generated")
    system = json.loads(files["systems/crmoffice.conf.json"])
    system.update(verify_ssl="$ENV(crmoffice-verify-ssl)", read_timeout="$SECRET(crmoffice-timeout)")
    files["systems/crmoffice.conf.json"] = json.dumps(system)
    files["variables.json"] = json.dumps({"crmoffice-base-url": "https://crm.example",
                                          "customerp-base-url": "https://erp.example", "crmoffice-verify-ssl": "true"})
    assert validate_files(files) == []
