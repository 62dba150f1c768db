"""Spec and scenario YAML is bounded: alias bombs, deep nesting, tags, merge keys, odd keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator.cli import main
from generator.errors import UserError
from generator.spec import yamlpos
from tests.support.spec_samples import MINIMAL_SPEC

ROOT = Path(__file__).resolve().parents[1]

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefghi", "bcdefghij"))

SPEC = MINIMAL_SPEC


def one_line(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_alias_bomb_fails_fast_with_bounded_memory(tmp_path):
    """S7: the 377-byte alias bomb, in a child process under a 1 GiB address-space limit."""
    assert len(BOMB.encode()) < 400
    spec = tmp_path / "laughs.yaml"
    spec.write_text(BOMB)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
            "from generator.cli import main; sys.exit(main(['generate', sys.argv[1]]))")
    done = subprocess.run([sys.executable, "-c", code, str(spec)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"{spec}:2:8: $: aliases expand to more than 1,000,000 values; " \
                          "write the data out or use fewer nested aliases\n"


@pytest.mark.parametrize("command", ["generate", "docs", "qa"])
def test_alias_bomb_in_every_spec_reader(tmp_path, capsys, command):
    spec = tmp_path / "laughs.yaml"
    spec.write_text(BOMB)
    assert "aliases expand" in one_line(capsys, [command, str(spec)] + (["-o", str(tmp_path / "d")] if command == "docs" else []))


@pytest.mark.parametrize("depth", [101, 500, 100_000])
def test_deep_nesting_is_one_line(tmp_path, capsys, depth):
    """C2: libyaml's composer would crash the process on 100,000 levels; 500 gave a RecursionError."""
    spec = tmp_path / "deep.yaml"
    spec.write_text("dataflow: a-b\nnotes: " + "[" * depth + "]" * depth + "\n")
    err = one_line(capsys, ["generate", str(spec)])
    assert err == f"{spec}:2:107: $: nested deeper than 100 levels\n"


def test_nesting_up_to_the_limit_is_read():
    text = "x: " + "[" * 99 + "]" * 99
    assert yamlpos.load(text, "f").data["x"] is not None


def test_deep_scenario_is_one_line(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("title: t\nspec: x.yaml\nsteps: " + "[" * 600 + "]" * 600 + "\n")
    err = one_line(capsys, ["simulate", str(scenario)])
    assert "nested deeper than 100 levels" in err


def test_merge_keys_are_read(tmp_path, capsys):
    """C1: '<<: *defaults' is common in hand-written YAML."""
    spec = tmp_path / "a-b.yaml"
    spec.write_text(SPEC.replace("      person: Person", "      person: &d {label: Person, primary_key: id}")
                        .replace("      contact: Contact", "      contact: {<<: *d, label: Contact}"))
    doc = yamlpos.load(spec.read_text(), str(spec))
    assert doc.data["systems"]["sysb"]["datatypes"]["contact"] == {"label": "Contact", "primary_key": "id"}
    assert main(["generate", "-q", str(spec), "-o", str(tmp_path / "out")]) == 0


def test_merge_of_a_list_of_mappings_and_bad_merge():
    doc = yamlpos.load("a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b], x: 3}\n", "f")
    assert doc.data["c"] == {"x": 3, "y": 2}
    with pytest.raises(UserError) as err:
        yamlpos.load("c: {<<: 5}\n", "f")
    assert str(err.value) == "f:1:9: c: a merge key ('<<') takes a mapping or a list of mappings"


@pytest.mark.parametrize("text,line", [
    ("dataflow: a-b\nnotes: [!foo x]\n", "2:9: notes[0]: unsupported YAML tag '!foo'"),
    ("%TAG ! tag:evil,2000:\n---\ndataflow: !foo x\n", "3:11: dataflow: unsupported YAML tag 'tag:evil,2000:foo'"),
    ("dataflow: a-b\n? [a, b]\n: 1\n", "2:3: $: a key must be a plain value, not a list or mapping"),
])
def test_tags_and_complex_keys_are_one_line(tmp_path, capsys, text, line):
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    assert one_line(capsys, ["generate", str(spec)]) == f"{spec}:{line}\n"


def test_trailing_newline_does_not_pass_an_id_pattern(tmp_path, capsys):
    """K2: Python's '$' matches before a final newline."""
    spec = tmp_path / "s.yaml"
    spec.write_text('dataflow: "x\\n"\nsystems: {}\nflows: []\n')
    err = one_line(capsys, ["generate", str(spec), "-o", str(tmp_path / "out")])
    assert "'x\\n' is not a valid id" in err
    assert not (tmp_path / "out").exists()


def test_long_values_are_not_echoed_whole(tmp_path, capsys):
    """K3: a 1 MB dataflow value gives a short line."""
    spec = tmp_path / "s.yaml"
    spec.write_text("dataflow: " + "A" * 1_000_000 + "\nsystems: {}\nflows: []\n")
    capsys.readouterr()
    assert main(["generate", str(spec)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(len(line) < 450 for line in lines)  # the pattern and the length problem


def test_flow_repeated_by_an_alias_says_so(tmp_path, capsys):
    """K11: the duplicate used to point at its own line as the first definition."""
    spec = tmp_path / "a-b.yaml"
    spec.write_text(SPEC.replace("  - from: sysa.person", "  - &f\n    from: sysa.person") + "  - *f\n")
    err = one_line(capsys, ["generate", str(spec)])
    assert "(repeated by a YAML alias)" in err


def test_secret_name_that_breaks_the_pattern_is_not_echoed(tmp_path, capsys):
    """S8: the value given as a secret name is often the secret itself."""
    spec = tmp_path / "a-b.yaml"
    secret = "Zm9vYmFy+c2VjcmV0/dmFsdWU="
    spec.write_text(SPEC.replace("  sysa:\n", f"  sysa:\n    auth: {{secret: '{secret}'}}\n"))
    err = one_line(capsys, ["generate", str(spec)])
    assert secret not in err and "letters, digits, '_', '.' and '-'" in err


def test_recursive_alias_is_one_line(tmp_path, capsys):
    """An alias inside the value it names stood for an endless value: a RecursionError before."""
    spec = tmp_path / "s.yaml"
    spec.write_text("dataflow: a-b\nnotes: &n [x, *n]\n")
    assert one_line(capsys, ["generate", str(spec)]) == \
        f"{spec}:2:15: notes: an alias cannot stand inside the value it names\n"


def test_alias_nesting_counts_towards_the_depth_limit():
    """Each alias below nests its anchor one level deeper than written: refused where it passes 100."""
    text = "a0: &a0 " + "[" * 60 + "]" * 60 + "\n" + "".join(
        f"a{i}: &a{i} " + "[" * 30 + f"*a{i - 1}" + "]" * 30 + "\n" for i in range(1, 3))
    with pytest.raises(UserError) as err:
        yamlpos.load(text, "f")
    assert str(err.value) == "f:3:39: $: nested deeper than 100 levels"  # a1 nests 91, a2 would nest 121


def test_each_alias_gets_its_own_copy_and_the_original_positions():
    doc = yamlpos.load("a: &a {x: [1, {y: 2}]}\nb:\n  k: *a\nc: [*a]\n", "f")
    assert doc.data == {"a": {"x": [1, {"y": 2}]}, "b": {"k": {"x": [1, {"y": 2}]}}, "c": [{"x": [1, {"y": 2}]}]}
    doc.data["b"]["k"]["x"][1]["y"] = 3
    assert doc.data["a"]["x"][1]["y"] == 2 and doc.data["c"][0]["x"][1]["y"] == 2
    assert doc.location(("b", "k")).line == 3  # the alias's key
    inner = doc.location(("b", "k", "x", 1, "y"))
    assert (inner.line, inner.col) == (1, 19)  # the anchored value 2
    assert doc.location(("c", 0, "x", 5)) == doc.location(("a", "x"))  # a missing item: its list


def test_merged_keys_point_where_they_were_written():
    doc = yamlpos.load("d: &d {label: L, path: {p: 1}}\ne: {<<: *d, label: M}\n", "f")
    assert doc.data["e"] == {"label": "M", "path": {"p": 1}}
    assert (doc.location(("e", "label")).line, doc.location(("e", "label")).col) == (2, 20)
    assert (doc.location(("e", "path", "p")).line, doc.location(("e", "path", "p")).col) == (1, 28)


def test_a_value_refused_by_its_tag_is_one_line(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("dataflow: !!int\n")
    assert one_line(capsys, ["generate", str(spec)]) == f"{spec}:1:11: dataflow: not a value of YAML tag " \
                                                         "'tag:yaml.org,2002:int'\n"


def test_syntax_error_after_an_alias_problem_is_reported():
    """The text is read to its end: a syntax error further on wins, as when it was composed first."""
    with pytest.raises(UserError) as err:
        yamlpos.load("a: &a [*a]\nb: [\n", "f")
    assert "invalid YAML" in str(err.value) and str(err.value).startswith("f:3:1:")


def test_deep_nesting_that_libyaml_refuses_first_is_one_line(tmp_path, capsys, monkeypatch):
    """Newer libyaml refuses 1,000 nested flow levels while its scanner looks ahead, before the builder
    sees the 101st level: the text is read again with PyYAML's parser, bounded as it goes."""
    class Refusing(yaml.SafeLoader):
        def get_event(self):
            raise yaml.scanner.ScannerError("while increasing flow level", None, "exceeded maximum nesting depth", None)

    monkeypatch.setattr(yamlpos, "_LOADER", Refusing)
    spec = tmp_path / "deep.yaml"
    spec.write_text("dataflow: a-b\nnotes: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert one_line(capsys, ["generate", str(spec)]) == f"{spec}:2:107: $: nested deeper than 100 levels\n"
