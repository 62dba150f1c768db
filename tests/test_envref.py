"""The one $ENV/$SECRET reference syntax that render, validate, simulate and the emulator share."""

from __future__ import annotations

from generator.build.render import env_variables
from generator.util.envref import ENV_REF, REF_START, SECRET_REF
from generator.validation.refs import env_tokens


def test_a_reference_names_a_variable_without_parentheses():
    text = '"$ENV(base)/x?k=$SECRET(key)" "$ENV(a(b))"'
    assert ENV_REF.findall(text) == ["base"]
    assert SECRET_REF.findall(text) == ["key"]
    assert [m.group(1) for m in REF_START.finditer(text)] == ["ENV", "SECRET", "ENV"]


def test_empty_name_is_no_variable():
    # validate reports "$ENV() needs a name"; with [^()]* variables.json would get a "" key.
    assert ENV_REF.findall("$ENV()") == []
    assert env_variables(['{"url": "$ENV()/$ENV(host)"}']) == ["host"]
    assert list(env_tokens("$ENV()")) == [("ENV", "", "$ENV() needs a name")]
