"""User-caused failures outside the node API exit 1 with one line per problem, never 3."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from generator.cli import main
from generator.util import fsutil

ROOT = Path(__file__).resolve().parents[1]


def no_space(monkeypatch, after: int = 0) -> None:
    """Make the ``after+1``-th atomic rename fail with ENOSPC, as a full disk does."""
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) > after:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace)


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_broken_pipe_is_one_line_exit_1(project):
    """C13: `pipegen docs ... | head` used to exit 3 with BrokenPipeError."""
    proc = subprocess.Popen([sys.executable, "-m", "generator", "docs", "specs", "-o", "d"], cwd=project,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader is gone before pipegen prints anything
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    proc.stderr.close()
    assert err == "pipegen: output closed early (broken pipe); the rest of it was not printed\n"
    assert len(list((project / "d").glob("*.rst"))) == 2  # the files themselves were written


def test_import_doc_of_an_empty_folder_is_an_error(project, capsys):
    """K4: it exited 0 and printed nothing."""
    (project / "empty").mkdir()
    assert main(["import-doc", "empty", "-o", "out"]) == 1
    assert capsys.readouterr().err == "empty:0:0: $: no dataflow documents (*.rst) in this folder\n"


def test_docs_on_a_full_disk_says_what_was_written(project, capsys, monkeypatch):
    """D4/C7: docs exited 3 half-way; now exit 1, the count of files written, no temporary files left."""
    no_space(monkeypatch, after=1)
    assert main(["docs", "specs", "-o", "d"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith(": $: cannot write: No space left on device")
    assert err[1] == "d:0:0: $: 1 of 2 file(s) were written before this failure, the others left as they were"
    assert sorted(p.name for p in (project / "d").iterdir()) == ["customerp-crmoffice.rst"]


def test_import_doc_on_a_full_disk_is_exit_1(project, capsys, monkeypatch):
    assert main(["docs", "specs", "-o", "d"]) == 0
    no_space(monkeypatch)
    assert main(["import-doc", "d", "-o", "out"]) == 1
    err = capsys.readouterr().err
    assert "cannot write: No space left on device" in err and "0 of 1 file(s) were written" in err
    assert not (project / "out").exists() or not any((project / "out").iterdir())


def test_qa_report_on_a_full_disk_is_exit_1_and_keeps_the_old_report(project, capsys, monkeypatch):
    shutil.copytree(ROOT / "output", project / "output")
    (project / "r.txt").write_text("old report")
    no_space(monkeypatch)
    assert main(["qa", "specs", "-o", "r.txt"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "r.txt:0:0: $: cannot write: No space left on device"
    assert (project / "r.txt").read_text() == "old report"
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []


def test_generate_into_an_unwritable_place_is_exit_1(project, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fsutil.tempfile, "mkdtemp", refuse)
    assert main(["generate", "-q", "-o", "elsewhere"]) == 1
    assert capsys.readouterr().err.endswith(": $: cannot write: Permission denied\n")


def test_internal_errors_still_say_so_and_exit_3(project, capsys, monkeypatch, tmp_path_factory):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    crashes = tmp_path_factory.mktemp("crashes")
    monkeypatch.setattr(tempfile, "tempdir", str(crashes))  # where tempfile puts new files

    monkeypatch.setattr("generator.commands.generate.generate", bug)
    assert main(["generate"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("pipegen: internal error: ZeroDivisionError: division by zero\n")
    assert "this is a bug in pipegen" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 2
    log = Path(err.split(" and ")[-1].split(", which holds")[0])
    assert log.name.startswith("pipegen-crash-") and log.parent == crashes
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "in bug" in text and "ZeroDivisionError: division by zero" in text


def test_ctrl_c_exits_130_with_one_line_and_no_crash_log(project, capsys, monkeypatch, tmp_path_factory):
    """Ctrl-C is neither a user error (1) nor a bug (3): 128 + SIGINT, as a shell reports it."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    crashes = tmp_path_factory.mktemp("crashes")
    monkeypatch.setattr(tempfile, "tempdir", str(crashes))
    monkeypatch.setattr("generator.commands.generate.generate", interrupted)
    assert main(["generate"]) == 130
    assert capsys.readouterr().err == "pipegen: interrupted\n"
    assert list(crashes.iterdir()) == []


def test_every_error_pipegen_raises_has_one_root():
    """A library caller catches pipegen's own failures as one class; anything else is a bug."""
    from generator.errors import PipegenError, UserError
    from generator.node.client import NodeError
    from generator.simulate.dtl.core import DTLError
    from generator.simulate.pipe_features import FeatureError
    from generator.simulate.runner import PipeError
    from generator.simulate.scenario import ScenarioError
    from generator.talkdoc.rst import RstError

    for cls in (UserError, NodeError, DTLError, FeatureError, PipeError, ScenarioError, RstError):
        assert issubclass(cls, PipegenError), cls


SCENARIO = """\
title: t
spec: specs/customerp-crmoffice.yaml
steps:
  - {step}
"""


@pytest.mark.parametrize("step,line", [
    ("run: {rounds: many}", "steps[0].run.rounds: a whole number of rounds from 1 to 10,000"),
    ("run: {rounds: 1.5e300}", "steps[0].run.rounds: a whole number of rounds from 1 to 10,000"),
    ("run: {rounds: 1000000000}", "steps[0].run.rounds: a whole number of rounds from 1 to 10,000"),
    ("run: {rounds: -5}", "steps[0].run.rounds: a whole number of rounds from 1 to 10,000"),
    ("edit: {system: customerp, datatype: employee, insert: [1, 2]}",
     "steps[0].edit.insert: insert: expects a mapping of properties"),
    ("fail: {system: crmoffice, after: -1}", "steps[0].fail.after: a number of requests, 0 or more"),
    ("fail: {system: crmoffice, status: 99999}", "steps[0].fail.status: an HTTP status from 100 to 599"),
    ("fail: {system: crmoffice, methods: [FLY]}", "steps[0].fail.methods: a list of HTTP methods"),
])
def test_scenario_arguments_are_checked_before_running(project, capsys, step, line):
    """C10/K8: these crashed with TypeError, ran until killed, or were accepted silently."""
    (project / "s.yaml").write_text(SCENARIO.format(step=step))
    assert main(["simulate", "-q", "--scenario", "s.yaml"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and re.match(rf"s\.yaml:4:\d+: {re.escape(line)}", err), err


@pytest.mark.parametrize("make", ["folder", "not sqlite"])
def test_db_that_is_not_a_database_is_one_line(project, capsys, make):
    """C10/C7: --db on a folder or another file exited 3."""
    db = project / "db"
    if make == "folder":
        db.mkdir()
    else:
        db.write_text("not a database, just text\n" * 100)
    assert main(["simulate", "-q", "specs", "--db", "db"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("db:0:0: $: cannot use as the simulation database: ") and len(err.splitlines()) == 1
    if make != "folder":
        assert db.read_text().startswith("not a database")


def test_an_internal_error_without_a_writable_temporary_folder_still_says_so(project, capsys, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("generator.commands.generate.generate", bug)
    monkeypatch.setattr(tempfile, "mkstemp", no_room)
    assert main(["generate"]) == 3
    err = capsys.readouterr().err
    assert err.endswith("please report it with the command you ran.\n") and "Traceback" not in err
