"""Writing output safely, and reading input files.

A run never leaves the user's output half-written: single files go through a
temporary sibling and a rename, and a whole folder is built beside the target
and swapped in. On Linux the swap is one ``renameat2(RENAME_EXCHANGE)`` call,
so the target path always holds a complete tree, the old one or the new one.
Elsewhere the old tree is first renamed to a clearly named backup
(``.NAME.pipegen-backup``) and the next run restores it if the process died in
between. Leftovers of killed runs are hidden siblings that later runs clean up
or ignore; they are never fatal.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping

from generator.errors import UserError, fail

STAGING_MARK = ".pipegen-new."  # .NAME.pipegen-new.<pid>.<random>: a tree being built
BACKUP_MARK = ".pipegen-backup"  # .NAME.pipegen-backup: the old tree during a two-rename swap
OLD_MARK = ".pipegen-old."  # .NAME.pipegen-old.<pid>.<random>: the old tree after a swap, being removed
PAUSE_ENV = "PIPEGEN_TEST_PAUSE"  # tests only: stop at a named point so a kill lands there


def write_text_atomic(path: Path, text: str) -> None:
    """Write one file through a temporary sibling and an atomic rename.

    The file gets the mode a plain ``open()`` would give it (0666 less the
    umask), not ``mkstemp``'s 0600, so output stays readable where it is served.
    A file system error (permission, disk full) is a one-line user error.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise os_error(path, err) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise os_error(path, err) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def os_error(path: Path | str, err: OSError) -> UserError:
    """A file system failure the user can act on (permission, disk full, name too long), as one line."""
    return fail(str(path), f"cannot write: {err.strerror or err}")


def replace_tree(target: Path, files: Mapping[str, str]) -> None:
    """Make ``target`` hold exactly ``files`` (relative path -> text).

    The new tree is built in a hidden sibling, then swapped in: a reader or a
    crash sees the complete old tree or the complete new one at ``target``,
    never a mix and never nothing (see the module note for non-Linux systems).
    """
    target = Path(os.path.abspath(target))
    if target.exists():
        target = target.resolve()  # a symlinked output folder: swap the real one
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        recover(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_MARK}{os.getpid()}.", dir=target.parent))
    except OSError as err:
        raise os_error(target, err) from None
    try:
        os.chmod(staging, 0o777 & ~_umask())
        for folder in sorted({(staging / rel).parent for rel in files}):
            folder.mkdir(parents=True, exist_ok=True)
        # Creating files is dominated by the open() syscall, which releases the
        # GIL: a few threads write a 2,000-file config several times faster.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda item: _write(staging / item[0], item[1]), files.items()))
        _pause("staged")
        _swap(staging, target)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise os_error(target, err) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` at ``target``; the old tree, if any, is removed afterwards."""
    try:
        os.rename(staging, target)  # no tree at target yet: one atomic rename
        return
    except OSError as err:
        if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    if exchange(staging, target):
        # ``staging`` now holds the old tree; a kill from here on leaves a hidden leftover only.
        _pause("swapped")
        _remove_old(staging)
        return
    backup = target.parent / f".{target.name}{BACKUP_MARK}"
    os.replace(target, backup)
    try:
        _pause("window")
        os.replace(staging, target)
    except BaseException:
        # Interrupted or refused in the window: put the old tree back where the user looks.
        if not target.exists():
            os.replace(backup, target)
        raise
    _remove_old(backup)


def _remove_old(old: Path) -> None:
    """Rename the old tree to a unique name first, so a kill during the removal leaves an obvious leftover."""
    doomed = old.parent / f"{old.name.split('.pipegen-')[0]}{OLD_MARK}{os.getpid()}.{time.monotonic_ns()}"
    try:
        os.replace(old, doomed)
    except OSError:
        doomed = old
    shutil.rmtree(doomed, ignore_errors=True)


def recover(target: Path) -> None:
    """Undo what a killed run left beside ``target``: restore its backup, remove dead staging and old trees.

    A staging folder of a process that is still running (another generate into
    the same folder) is left alone. A leftover named after our own PID cannot
    be ours (we have not made one yet): that is PID reuse, e.g. PID 1 in a
    container, and it is removed.
    """
    backup = target.parent / f".{target.name}{BACKUP_MARK}"
    if backup.is_dir() and not backup.is_symlink():
        if not target.exists():
            os.replace(backup, target)
        else:
            shutil.rmtree(backup, ignore_errors=True)
    prefix = f".{target.name}"
    _recover_legacy(target, prefix)
    for mark in (STAGING_MARK, OLD_MARK):
        for leftover in target.parent.glob(f"{_glob_escape(prefix + mark)}*"):
            pid = leftover.name[len(prefix + mark):].split(".", 1)[0]
            if leftover.is_dir() and not leftover.is_symlink() and not _alive_other(pid):
                shutil.rmtree(leftover, ignore_errors=True)


def _recover_legacy(target: Path, prefix: str) -> None:
    """Leftovers of pipegen 0.1.0's swap: ``.NAME.old.<pid>`` (the old tree) and ``.NAME.new.<random>``."""
    for leftover in sorted(target.parent.glob(f"{_glob_escape(prefix)}.old.*")):
        if leftover.name[len(prefix) + 5:].isdigit() and leftover.is_dir() and not leftover.is_symlink():
            if not target.exists():
                os.replace(leftover, target)  # killed between its two renames: this is the output
            else:
                shutil.rmtree(leftover, ignore_errors=True)
    for leftover in target.parent.glob(f"{_glob_escape(prefix)}.new.*"):
        if len(leftover.name) == len(prefix) + 13 and leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


def _alive_other(pid: str) -> bool:
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux's ``renameat2(RENAME_EXCHANGE)``; False where unsupported."""
    rename = _renameat2()
    if rename is None:
        return False
    if rename(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0:  # AT_FDCWD, RENAME_EXCHANGE
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # kernel or file system without exchange
        return False
    raise OSError(code, os.strerror(code), str(b))


def _renameat2() -> Any:  # the C function, or None where the platform has none
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2  # glibc >= 2.28, musl >= 1.2.5
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


def _pause(point: str) -> None:
    # Lets a test kill the process at an exact point of the swap; inert unless the variable names the point.
    if os.environ.get(PAUSE_ENV) == point:
        print(f"pipegen: paused at {point}", file=sys.stderr, flush=True)
        time.sleep(600)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def read_tree(root: Path) -> dict[str, str]:
    """All files under ``root`` as relative posix path -> text (empty if absent).

    A file that is not UTF-8 (a ``.DS_Store``) is kept as its bytes decoded with
    replacement: it only has to compare unequal to what would be written.
    """
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8", "replace")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_utf8(path: Path) -> str:
    """The text of one input file; a file that is not UTF-8 or cannot be read is a one-line user error."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise fail(str(path), f"not UTF-8 text ({err.reason})", line=1, col=1) from None
    except OSError as err:
        raise fail(str(path), f"cannot read: {err.strerror or err}") from None
