"""Writing files atomically: every file paralens writes goes through here.

A writer gets a temporary file in the target's own folder, writes it, and on
success the temporary file is flushed to disk (``fsync``), given the target's
permissions and renamed over the target (``os.replace``, atomic on POSIX), and
the folder is synced.  On any failure (a full disk, a read-only folder, an
interrupted process) the temporary file is removed and the target is left as
it was: a previous version of the file is never truncated or lost.

Permissions: a new file gets the user's default (``0o666`` less the umask),
a replaced file keeps its own mode.  Errors are one :class:`FileWriteError`
that names the target (never the temporary file) and why.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> atomic_write(path, "hello\\n")
    >>> open(path).read()
    'hello\\n'
    >>> with atomic_open(path) as f:
    ...     _ = f.write("partial")
    ...     raise RuntimeError("stopped half-way")
    Traceback (most recent call last):
    RuntimeError: stopped half-way
    >>> open(path).read()             # the previous file is intact
    'hello\\n'
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator

from paralens.errors import FileWriteError  # noqa: F401 - importable from here too

__all__ = ["FileWriteError", "atomic_open", "atomic_output", "atomic_write", "check_target", "default_mode",
           "ensure_writable"]


def default_mode() -> int:
    """The permissions a new file gets here: ``0o666`` less the process's umask."""
    try:  # Linux reports the umask without changing it (os.umask would, briefly)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _reason(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


def check_target(path) -> str:
    """The target ``path`` as a string, or :class:`FileWriteError` when it cannot be a file:
    an empty name, a directory, a folder that does not exist or is not a folder."""
    try:
        p = os.fspath(path)
    except TypeError:
        raise FileWriteError(f"cannot write to {path!r}: not a file path") from None
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if not p or p.endswith(os.sep):
        raise FileWriteError(f"cannot write {p!r}: not a file name")
    if os.path.isdir(p):
        raise FileWriteError(f"cannot write {p}: it is a directory")
    folder = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(folder):
        what = "is not a directory" if os.path.exists(folder) else "does not exist"
        raise FileWriteError(f"cannot write {p}: the folder {folder} {what}")
    return p


def ensure_writable(path, *, make_folder: bool = False) -> str:
    """Check before long work that ``path`` can be written (:func:`check_target`, then a trial temporary
    folder beside it, removed at once); with ``make_folder``, a missing folder is made first."""
    try:
        p = os.fspath(path)
    except TypeError:
        raise FileWriteError(f"cannot write to {path!r}: not a file path") from None
    folder = os.path.dirname(os.path.abspath(p))
    if make_folder and not os.path.exists(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise FileWriteError(f"cannot write {p}: cannot make its folder ({_reason(e)})") from None
    target = check_target(p)
    trial = os.path.join(folder, f".{os.path.basename(target)}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        os.mkdir(trial, 0o700)
    except OSError as e:
        raise FileWriteError(f"cannot write {target}: {_reason(e)}") from None
    os.rmdir(trial)
    return target


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _target_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return default_mode()


def _remove_stale_temps(target: str) -> None:
    """Remove the temporary folders of writers to ``target`` that were killed (their process is gone)."""
    folder, name = os.path.split(os.path.abspath(target))
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)\.[0-9a-f]{{12}}\.tmp")
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        m = pattern.fullmatch(entry)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(folder, entry), ignore_errors=True)
        except (PermissionError, OverflowError, OSError):
            pass


@contextlib.contextmanager
def atomic_output(path) -> Iterator[str]:
    """A temporary file name for the contents of ``path``, for a library that writes by name
    (safetensors, matplotlib); on success it replaces ``path`` atomically, on failure it is removed.

    The temporary file lies in a private folder beside the target,
    ``.NAME.PID.RANDOM.tmp/NAME``, which also holds any temporary file of the library's own;
    a writer that is killed leaves that one folder, and the next write to the target removes it.
    """
    target = check_target(path)
    folder = os.path.dirname(os.path.abspath(target))
    _remove_stale_temps(target)
    private = os.path.join(folder, f".{os.path.basename(target)}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        os.mkdir(private, 0o700)
    except OSError as e:
        raise FileWriteError(f"cannot write {target}: {_reason(e)}") from None
    tmp = os.path.join(private, os.path.basename(target))
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, _target_mode(target))
        os.replace(tmp, target)
    except FileWriteError:
        raise
    except OSError as e:
        raise FileWriteError(f"cannot write {target}: {_reason(e)}") from None
    finally:
        shutil.rmtree(private, ignore_errors=True)
    _fsync_dir(folder)


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", *, encoding: str | None = "utf-8"):
    """A file object open for writing (``"w"`` text or ``"wb"`` bytes) whose contents replace
    ``path`` atomically when the block ends without an error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    with atomic_output(path) as tmp:
        try:
            f = open(tmp, mode, encoding=None if "b" in mode else encoding)  # noqa: SIM115 - closed below
        except OSError as e:
            raise FileWriteError(f"cannot write {os.fspath(path)}: {_reason(e)}") from None
        with f:
            yield f
            f.flush()


def atomic_write(path, data: str | bytes) -> None:
    """Write the text or bytes ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb" if isinstance(data, bytes | bytearray) else "w") as f:
        f.write(data)
