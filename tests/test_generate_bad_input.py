"""Every class of bad input: one exact line per problem, exit 1, output untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import UserError
from tests.support.spec_samples import MINIMAL_SPEC

ROOT = Path(__file__).resolve().parents[1]

GOOD = MINIMAL_SPEC


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with one good spec and generated output."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a-b.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "-q"]) == 0
    return tmp_path


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_bad(project, capsys, text: str, *, name="a-b.yaml", binary: bytes | None = None) -> list[str]:
    before = snapshot(project / "output")
    spec = project / "specs" / name
    if binary is not None:
        spec.write_bytes(binary)
    else:
        spec.write_text(text)
    capsys.readouterr()
    code = main(["generate", "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert snapshot(project / "output") == before, "output changed after a failed run"
    return err.splitlines()


# One bad spec each: (the spec's text, the exact lines the run prints).
SINGLE_SPEC_CASES = {
    "malformed YAML": (
        GOOD.replace("to: sysb.contact", "to: [sysb.contact"),
        ["specs/a-b.yaml:12:1: $: invalid YAML: expected ',' or ']', but got '<stream end>'"]),
    "unknown key": (
        GOOD.replace("    to: sysb.contact", "    to: sysb.contact\n    crate: always"),
        ["specs/a-b.yaml:12:12: flows[0].crate: unknown key 'crate'"]),
    "unknown system": (
        GOOD.replace("from: sysa.person", "from: sysc.person"),
        ["specs/a-b.yaml:10:5: flows[0].from: unknown system 'sysc'"]),
    "unknown datatype": (
        GOOD.replace("to: sysb.contact", "to: sysb.contacts"),
        ["specs/a-b.yaml:10:5: flows[0].to: unknown datatype 'contacts' of system 'sysb' (known: contact)"]),
    "duplicate flow": (
        GOOD + "  - {from: sysa.person, to: sysb.contact}\n",
        ["specs/a-b.yaml:12:5: flows[1]: duplicate flow sysa.person -> sysb.contact "
         "(first defined at specs/a-b.yaml:10:5)"]),
    "id Sesam rejects": (
        GOOD.replace("  sysa:", "  sys/a:").replace("sysa.person", "sys/a.person"),
        ["specs/a-b.yaml:3:3: systems.sys/a: 'sys/a': ids are lowercase letters and digits, no delimiters",
         "specs/a-b.yaml:10:11: flows[0].from: 'sys/a.person' is not a 'system.datatype' reference"]),
    "duplicate YAML key": (
        GOOD.replace("dataflow: a-b", "dataflow: a-b\ndataflow: a-c"),
        ["specs/a-b.yaml:2:1: dataflow: duplicate key"]),
    "not a mapping": (
        "- just\n- a list\n",
        ["specs/a-b.yaml:1:1: $: a spec must be a YAML mapping with 'dataflow', 'systems' and 'flows'"]),
    "bad create rule": (
        GOOD.replace("    to: sysb.contact", "    to: sysb.contact\n    create: sometimes"),
        ["specs/a-b.yaml:12:13: flows[0].create: 'sometimes' is not a create rule "
         "(always, link-only, {when-connected: [...]}, {when: '...'})"]),
}


@pytest.mark.parametrize("case", list(SINGLE_SPEC_CASES))
def test_bad_spec_is_one_exact_line_per_problem(project, capsys, case):
    text, expected = SINGLE_SPEC_CASES[case]
    assert run_bad(project, capsys, text) == expected


def test_all_problems_of_a_run_are_reported_together(project, capsys):
    (project / "specs" / "c-d.yaml").write_text("dataflow: c-d\nflows:\n  - {from: x.y, to: sysb.contact}\n")
    lines = run_bad(project, capsys, GOOD.replace("to: sysb.contact", "to: sysb.nope"))
    assert lines == [
        "specs/a-b.yaml:10:5: flows[0].to: unknown datatype 'nope' of system 'sysb' (known: contact)",
        "specs/c-d.yaml:3:5: flows[0].from: unknown system 'x'",
    ]


def test_conflicting_system_definitions(project, capsys):
    other = GOOD.replace("dataflow: a-b", "dataflow: c-d").replace("contact: Contact", "contact: Kontakt")
    (project / "specs" / "c-d.yaml").write_text(other.replace("flows:\n  - from: sysa.person\n    to: sysb.contact\n", "flows: []\n"))
    lines = run_bad(project, capsys, GOOD)
    assert lines == ["specs/c-d.yaml:8:16: systems.sysb.datatypes.contact: conflicting definition of datatype "
                     "'contact' of system 'sysb' (first defined at specs/a-b.yaml:8:16)"]


def test_not_utf8(project, capsys):
    lines = run_bad(project, capsys, "", binary=b"dataflow: \xff\xfe\n")
    assert lines == ["specs/a-b.yaml:1:1: $: not UTF-8 text (invalid start byte)"]


def run_with_template(project, capsys, monkeypatch, name: str, edit) -> list[str]:
    """Generate with a copy of the templates in which ``name`` is edited; it must fail cleanly."""
    templates = project / "templates"
    shutil.copytree(ROOT / "templates", templates)
    template = templates / name
    template.write_text(edit(template.read_text()))
    monkeypatch.setattr("generator.build.render.TEMPLATE_DIR", templates)
    before = snapshot(project / "output")
    capsys.readouterr()
    assert main(["generate", "-q"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert snapshot(project / "output") == before
    return err.splitlines()


def test_template_error_names_template_and_line(project, capsys, monkeypatch):
    def undefined_attribute(text):
        lines = text.splitlines()
        lines[5] = '  "description": {{ dt.no_such_attribute | tojson }},'
        return "\n".join(lines) + "\n"

    assert run_with_template(project, capsys, monkeypatch, "pipes/all.json.j2", undefined_attribute) == [
        "templates/pipes/all.json.j2:6:0: $: template error: "
        "'generator.spec.model.Datatype object' has no attribute 'no_such_attribute'"]


def test_template_syntax_error(project, capsys, monkeypatch):
    assert run_with_template(project, capsys, monkeypatch, "pipes/enrich.json.j2",
                             lambda text: '{\n  "_id": "{{ key }",\n}\n') == [
        "templates/pipes/enrich.json.j2:2:0: $: template syntax error: unexpected '}'"]


def test_rendered_config_that_does_not_validate_is_not_written(project, capsys, monkeypatch):
    def leak_a_secret(text):
        return text.replace('"type": "pipe",', '"type": "pipe",\n  "comment": "$SECRET(leak)",')

    assert run_with_template(project, capsys, monkeypatch, "pipes/all.json.j2", leak_a_secret) == [
        f"output/a-b/pipes/{pipe}-all.conf.json:14:14: $.comment: $SECRET(leak) in a pipe: "
        "secrets are only allowed in systems and as the key of a DTL encryption function; let the system carry "
        "the secret"
        for pipe in ("sysa-person", "sysb-contact")]


def test_check_reports_stale_output(project, capsys):
    assert main(["generate", "--check"]) == 0
    (project / "output" / "a-b" / "pipes" / "sysa-person-all.conf.json").write_text("{}\n")
    capsys.readouterr()
    assert main(["generate", "--check"]) == 2
    out = capsys.readouterr().out
    assert "stale: output/a-b/pipes/sysa-person-all.conf.json" in out


def test_check_writes_nothing(project):
    shutil.rmtree(project / "output")
    assert main(["generate", "--check", "-q"]) == 2
    assert not (project / "output").exists()


def test_failed_write_leaves_previous_output(project, monkeypatch):
    before = snapshot(project / "output")
    (project / "specs" / "a-b.yaml").write_text(GOOD.replace("contact: Contact", "contact: Contacts"))

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("generator.util.fsutil._write", explode)
    with pytest.raises(UserError):  # a file system failure is a one-line user error
        from generator.build.generate import generate
        generate([project / "specs"], project / "output")
    monkeypatch.undo()
    assert snapshot(project / "output") == before
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []
