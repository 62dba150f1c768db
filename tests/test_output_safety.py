"""generate writes only into a folder it owns, and its swap never loses the old output.

Kill tests run pipegen in a subprocess that stops at a named point of the swap
(``PIPEGEN_TEST_PAUSE``), then SIGKILL it there and look at what is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from generator.build.generate import check_owned, generate, render_specs
from generator.cli import main
from generator.util import fsutil
from tests.support.spec_samples import MINIMAL_SPEC

ROOT = Path(__file__).resolve().parents[1]

SPEC = MINIMAL_SPEC


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a-b.yaml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "-q"]) == 0
    return tmp_path


def run_fail(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# --------------------------------------------------------------------------- D1: ownership


def test_o_on_a_folder_of_dataflows_is_refused(project, capsys):
    shutil.copytree(project / "output" / "a-b", project / "output" / "other-flow")
    before = snapshot(project / "output")
    err = run_fail(capsys, ["generate", "-q", "-o", "output"])
    assert "not replacing output" in err
    assert snapshot(project / "output") == before


@pytest.mark.parametrize("name", ["../specs", ".", "..", "a/b", "x\n", "UPPER", "-x", "a" * 101, ""])
def test_name_that_is_not_a_plain_name_is_refused(project, capsys, name):
    before = snapshot(project)
    err = run_fail(capsys, ["generate", "-q", f"--name={name}"])
    assert err.startswith("--name:0:0: $: ")
    assert snapshot(project) == before


def test_o_on_a_file_is_refused_and_the_file_kept(project, capsys):
    spec = project / "specs" / "a-b.yaml"
    copy = project / "s.yaml"
    shutil.copy(spec, copy)
    err = run_fail(capsys, ["generate", "-q", str(copy), "-o", str(spec)])
    assert "is not a folder" in err
    assert spec.read_text() == SPEC


@pytest.mark.parametrize("stray", ["README.md", "pipes/notes.txt", "pipes/sub/x.conf.json", "other/"])
def test_folder_with_anything_else_is_refused(project, capsys, stray):
    path = project / "output" / "a-b" / stray
    if stray.endswith("/"):
        path.mkdir(parents=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine")
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    before = snapshot(project / "output")
    err = run_fail(capsys, ["generate", "-q"])
    shown = "/".join(stray.rstrip("/").split("/")[:2])  # the first entry that is not pipegen's
    assert f"output/a-b/{shown}:0:0: $: is not part of a node config folder" in err
    assert snapshot(project / "output") == before


def test_new_or_empty_folder_and_own_layout_are_written(project, capsys):
    (project / "empty").mkdir()
    assert main(["generate", "-q", "-o", "empty"]) == 0
    assert main(["generate", "-q", "-o", "fresh/deeper"]) == 0
    (project / "output" / "a-b" / ".DS_Store").write_bytes(b"\x00\x01\xff")  # clutter, not user data
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    assert main(["generate", "-q"]) == 0
    assert snapshot(project / "empty").keys() == snapshot(project / "output" / "a-b").keys()


def test_committed_output_is_pipegen_layout(tmp_path, monkeypatch):
    """The committed output folder (with its variables.json) is one generate owns and rewrites."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "output", tmp_path / "output")
    monkeypatch.chdir(tmp_path)
    for folder in (tmp_path / "output").iterdir():
        check_owned(folder)  # raises if anything in it is not pipegen's layout
    assert main(["generate", "-q"]) == 0


# --------------------------------------------------------------------------- D3: the swap and leftovers


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def start_paused(project: Path, point: str, *, fallback: bool = False) -> subprocess.Popen:
    """pipegen generate in a subprocess that stops at ``point`` of the swap."""
    code = "import sys; from generator.cli import main\n"
    if fallback:  # a platform without renameat2: the two-rename swap
        code += "import generator.util.fsutil as f; f.exchange = lambda a, b: False\n"
    code += "sys.exit(main(['generate', '-q']))\n"
    env = {**os.environ, fsutil.PAUSE_ENV: point, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    assert line.strip() == f"pipegen: paused at {point}", line + proc.stderr.read()
    return proc


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL kill points on Linux")
@pytest.mark.parametrize("point,fallback", [("staged", False), ("swapped", False), ("staged", True), ("window", True)])
def test_kill_at_any_point_leaves_old_or_new_complete(project, point, fallback):
    old = snapshot(project / "output" / "a-b")
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    assert main(["generate", "-q", "--check"]) == 2
    kill(start_paused(project, point, fallback=fallback))
    out = project / "output"
    if point == "window":
        # The only moment the target is away: the old tree sits under its backup name.
        assert not (out / "a-b").exists()
        assert snapshot(out / ".a-b.pipegen-backup") == old
    else:
        assert snapshot(out / "a-b") in (old, snapshot_after(project))
    assert hidden(out), "a killed run leaves a hidden leftover"
    # validate does not take a leftover for a node config folder (none is there in the window)
    assert main(["validate"]) == (1 if point == "window" else 0)
    # The next run restores or cleans up, and finishes the job.
    assert main(["generate", "-q"]) == 0
    assert hidden(out) == []
    assert main(["generate", "-q", "--check"]) == 0


def snapshot_after(project: Path) -> dict:
    """What the new output is, rendered in memory."""
    return {k: v.encode() for k, v in render_specs([project / "specs"]).files.items()}


def test_interrupt_in_the_window_puts_the_old_tree_back(project, monkeypatch):
    old = snapshot(project / "output" / "a-b")
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    monkeypatch.setattr(fsutil, "exchange", lambda a, b: False)
    real = os.replace
    calls = []

    def interrupted(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the second rename: staging -> target
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate([project / "specs"], project / "output")
    monkeypatch.setattr(fsutil.os, "replace", real)
    assert snapshot(project / "output" / "a-b") == old
    assert hidden(project / "output") == []


def test_leftovers_named_after_our_pid_are_removed_not_fatal(project):
    """PID reuse (PID 1 in a container): a leftover carrying our PID is from an earlier run."""
    out = project / "output"
    for name in (f".a-b.pipegen-new.{os.getpid()}.x1", f".a-b.pipegen-old.{os.getpid()}.x2", ".a-b.pipegen-new.999999999.x3"):
        (out / name / "pipes").mkdir(parents=True)
        (out / name / "pipes" / "x.conf.json").write_text("{}")
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    assert main(["generate", "-q"]) == 0
    assert hidden(out) == []


def test_staging_of_a_live_run_is_left_alone(project):
    out = project / "output"
    live = out / f".a-b.pipegen-new.{os.getppid()}.x"
    live.mkdir()
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    assert main(["generate", "-q"]) == 0
    assert live.is_dir()


def test_leftover_is_not_a_node_config_folder_for_plan(project, capsys):
    from generator.node.folder import find_default_folder
    leftover = project / "output" / ".a-b.pipegen-new.1.abc"
    shutil.copytree(project / "output" / "a-b", leftover)
    assert find_default_folder(project / "output") == project / "output" / "a-b"


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs unshare as root")
def test_generate_as_pid_1_with_a_pid_1_leftover(project):
    out = project / "output"
    (out / ".a-b.pipegen-new.1.abc" / "pipes").mkdir(parents=True)
    (out / ".a-b.pipegen-old.1.abc" / "pipes").mkdir(parents=True)
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from generator.cli import main; sys.exit(main(['generate', '-q']))"
    done = subprocess.run(["unshare", "-p", "-f", "--mount-proc", sys.executable, "-c", code],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120)
    if "Operation not permitted" in done.stderr:
        pytest.skip("no PID namespaces here")
    assert done.returncode == 0, done.stderr
    assert hidden(out) == []


def test_exchange_swaps_two_folders(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux's")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "x").write_text("a")
    (b / "y").write_text("b")
    assert fsutil.exchange(a, b)
    assert (a / "y").exists() and (b / "x").exists()


def test_written_files_and_folders_follow_the_umask(project):
    os.umask(0o022)
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    assert main(["generate", "-q"]) == 0
    out = project / "output" / "a-b"
    assert out.stat().st_mode & 0o777 == 0o755
    fsutil.write_text_atomic(project / "r.txt", "x")
    assert (project / "r.txt").stat().st_mode & 0o777 == 0o644


def test_unwritable_output_is_a_one_line_user_error(project, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("generator.util.fsutil._write", full)
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("Contact", "Kontakt"))
    err = run_fail(capsys, ["generate", "-q"])
    assert "No space left on device" in err
    assert hidden(project / "output") == []


def test_non_utf8_clutter_in_output_is_not_a_crash(project, capsys):
    (project / "output" / "a-b" / ".DS_Store").write_bytes(b"\x00\x87\xff")
    assert main(["generate", "-q", "--check"]) == 2
    assert main(["generate", "-q"]) == 0


def test_long_dataflow_is_a_user_error(project, capsys):
    (project / "specs" / "a-b.yaml").write_text(SPEC.replace("dataflow: a-b", "dataflow: " + "a" * 300))
    run_fail(capsys, ["generate", "-q"])


def test_leftovers_of_the_previous_swap_are_restored_or_removed(project):
    """D3: pipegen 0.1.0 left .NAME.old.<pid> (killed between its renames) and .NAME.new.<random>."""
    out = project / "output"
    old = snapshot(out / "a-b")
    os.rename(out / "a-b", out / ".a-b.old.1")  # killed in the old window: the output is only here
    (out / ".a-b.new.ab12cd34" / "pipes").mkdir(parents=True)
    assert main(["generate", "-q"]) == 0
    assert snapshot(out / "a-b") == old
    assert hidden(out) == []
    shutil.copytree(out / "a-b", out / ".a-b.old.7")  # a stale copy beside a complete output
    assert main(["generate", "-q"]) == 0
    assert hidden(out) == []
