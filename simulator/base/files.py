"""The files the tool writes, and the promise that it never loses anybody else's.

- A **results folder** is owned by the tool: it holds a marker (:data:`MARKER`) naming what the tool wrote. A
  folder is replaced only if the tool wrote it (or it is empty); any other folder is refused, and nothing is ever
  deleted outside the folder being written.
- A folder is **replaced atomically** (:func:`atomic_dir`): the new content is written into a temporary folder
  beside it, then swapped in. An interrupted swap (kill -9, power cut) is finished or undone by the next write into
  the same place, so there is always either the old or the new folder, and no leftovers.
- **One writer per folder**: a lock beside it (:func:`folder_lock`), held by the process that writes it, released
  by the operating system if that process dies.
- Single files are written atomically too (:func:`atomic_file`), and a report or workbook is overwritten only if
  the tool wrote it (:func:`tool_wrote`).
- Folders and files get the permissions the user's umask gives: results are meant to be shared.
- Names derived from a scenario or sweep name are made safe as folder names (:func:`slug`) and land under
  ``results/`` (:func:`default_out`).
- CSV cells holding user text that a spreadsheet would run as a formula are neutralised on writing and restored on
  reading (:func:`write_csv`, :func:`read_csv`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "GENERATED_YAML",
    "MARKER",
    "RESULTS_ROOT",
    "FolderBusy",
    "FolderRefused",
    "OutputError",
    "atomic_dir",
    "atomic_file",
    "claim_folder",
    "default_out",
    "folder_lock",
    "read_csv",
    "slug",
    "tool_wrote",
    "write_csv",
    "write_text",
]

MARKER = ".msp-sim.json"
GENERATED_YAML = "# Calibrated by msp-sim calibrate"
"""The first words of a scenario file the tool wrote (so it may be replaced)."""
"""The file that marks a folder as written by the tool, with the list of what it wrote."""
RESULTS_ROOT = Path("results")
"""Where folders named after a scenario or sweep go."""
SLUG_LIMIT = 80
"""Longest folder name made from a name [characters]."""
TOOL = "msp-sim"

KNOWN_FILES: dict[str, frozenset[str]] = {
    "run": frozenset(
        {
            "replications.csv",
            "summary.csv",
            "differences.csv",
            "monthly.csv",
            "scenario.resolved.yaml",
            "ticket_times.csv",
            "tickets.parquet",
            "comparison.png",
            "comparison.svg",
            "revenue.png",
            "revenue.svg",
            "service.png",
            "service.svg",
            "report.html",
            "results.xlsx",
        }
    ),
    "incentives": frozenset(
        {
            "best_response.csv",
            "misalignment.csv",
            "curves.csv",
            "design.csv",
            "cost_bases.csv",
            "evaluations.parquet",
            "scenario.resolved.yaml",
            "incentives.png",
            "incentives.svg",
            "report.html",
            "results.xlsx",
        }
    ),
    "transition": frozenset(
        {
            "transition_monthly.csv",
            "transition_summary.csv",
            "scenario.resolved.yaml",
            "transition.png",
            "transition.svg",
            "report.html",
            "results.xlsx",
        }
    ),
    "analysis": frozenset(
        {
            "outcomes.csv",
            "sensitivity.csv",
            "tornado.csv",
            "tornado.png",
            "tornado.svg",
            "break_even.csv",
            "break_even.png",
            "break_even.svg",
        }
    ),
}
"""What each command writes into its folder: a folder of an earlier version of the tool (no marker) that holds
nothing else, with its resolved scenario or analysis tables, is recognised as the tool's."""


class OutputError(Exception):
    """A results folder or file the tool may not (or cannot now) write; the message says why and what to do."""

    exit_code = 2


class FolderRefused(OutputError):
    """The target holds files the tool did not write: it is left untouched."""


class FolderBusy(OutputError):
    """Another process is writing the same results folder."""

    exit_code = 1


# --------------------------------------------------------------------------------------------- names


def slug(name: str, limit: int = SLUG_LIMIT) -> str:
    """A safe folder name made from ``name``: letters, digits, ``-``, ``_`` and inner ``.`` only (no path
    separators, no ``.``/``..``, no control characters, no leading dot), at most ``limit`` characters; an empty
    result becomes ``unnamed``."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)
    text = re.sub(r"-{2,}", "-", text).strip("-.")
    text = text[:limit].rstrip("-.")
    return text or "unnamed"


def default_out(name: str, suffix: str = "") -> Path:
    """The default results folder of a scenario or sweep called ``name``: ``results/<slug(name)><suffix>``."""
    return RESULTS_ROOT / (slug(name, SLUG_LIMIT - len(suffix)) + suffix)


# --------------------------------------------------------------------------------------------- permissions


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _share(path: Path, folder: bool) -> None:
    """Give ``path`` the permissions a plain ``open``/``mkdir`` would have under the user's umask."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


# --------------------------------------------------------------------------------------------- files


def atomic_file(target: Path | str, write: Callable[[Path], Any], sync: bool = True) -> Path:
    """Write a file through ``write(tmp)`` into a temporary file beside ``target``, flush it to disk, then rename
    it into place: ``target`` is the old file or the complete new one, never half of one. On failure the
    temporary file is removed and ``target`` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{secrets.token_hex(4)}"
    try:
        write(tmp)
        if sync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def write_text(target: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    return atomic_file(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def clean_temporaries(folder: Path) -> None:
    """Remove the temporary files that an interrupted :func:`atomic_file` left in ``folder``."""
    pattern = re.compile(r"^\..+\.tmp-[0-9a-f]{8}$")
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if pattern.match(path.name) and path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()


def tool_wrote(path: Path) -> bool:
    """Whether the file ``path`` is a report, workbook or calibrated scenario the tool wrote (so it may be
    replaced)."""
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            with path.open("rb") as handle:
                return handle.read(len(GENERATED_YAML)) == GENERATED_YAML.encode()
        if path.suffix.lower() in (".html", ".htm"):
            with path.open("rb") as handle:
                head = handle.read(4096)
            return b'<meta name="generator" content="msp-sim' in head
        if path.suffix.lower() == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                core = archive.read("docProps/core.xml")
            return b"<dc:creator>msp-sim</dc:creator>" in core
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return False


def check_file_target(target: Path, option: str = "--out") -> None:
    """Refuse to overwrite a file the tool did not write (exit 2), or a folder given as a file name."""
    if target.is_dir():
        example = target / ("results.xlsx" if option == "--xlsx" else "report.html")
        raise FolderRefused(f"{option} {target}: is a folder; give a file name such as {example}.")
    if target.exists() and not tool_wrote(target):
        raise FolderRefused(
            f"{option} {target}: the file exists and msp-sim did not write it, so it is left as it is. Fix: "
            "choose another file name, or move that file away first."
        )


# --------------------------------------------------------------------------------------------- CSV


_FORMULA = re.compile(r"^'*[=+\-@\t\r]")


def _protect(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and _FORMULA.match(value) else value


def _unprotect(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("'") and _FORMULA.match(value[1:]):
        return value[1:]
    return value


def _text_columns(frame: pd.DataFrame) -> list[Any]:
    return [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]


def write_csv(frame: pd.DataFrame, path: Path | str) -> None:
    """Write ``frame`` as CSV (no index). A text cell that a spreadsheet would read as a formula (it starts with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe, the usual neutralisation;
    :func:`read_csv` removes it again, so names survive the round trip."""
    columns = _text_columns(frame)
    if columns:
        frame = frame.copy()
        for c in columns:
            frame[c] = frame[c].map(_protect)
    frame.to_csv(path, index=False)


def read_csv(path: Path | str, **options: Any) -> pd.DataFrame:
    """Read a CSV the tool wrote with :func:`write_csv`, restoring neutralised text cells. A row whose only cell is
    blank space is a value, not a blank line: :func:`write_csv` never writes blank lines. A table without columns
    (written as an empty line) reads as an empty table."""
    options.setdefault("skip_blank_lines", False)
    try:
        frame = pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    for c in _text_columns(frame):
        frame[c] = frame[c].map(_unprotect)
    return frame


# --------------------------------------------------------------------------------------------- locks


_HELD: dict[str, tuple[int, int]] = {}
_HELD_LOCK = threading.Lock()


def _lock_path(out: Path) -> Path:
    out = _absolute(out)
    return out.parent / f".{out.name}.lock"


def _absolute(path: Path) -> Path:
    """``path`` made absolute without resolving links, so that ``.`` or ``a/..`` have a name and a parent."""
    return Path(os.path.abspath(path))


@contextlib.contextmanager
def folder_lock(out: Path | str) -> Iterator[None]:
    """Hold the lock of the results folder ``out`` (a file ``.NAME.lock`` beside it) for the block.

    One writer per folder: a second process gets :class:`FolderBusy` at once. The lock is a POSIX record lock, so
    the operating system drops it when the holder dies (kill -9 included); the lock file is removed on release.
    Re-entrant within a process.
    """
    out = Path(out)
    key = os.path.abspath(out)
    with _HELD_LOCK:
        if key in _HELD:
            fd, depth = _HELD[key]
            _HELD[key] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _HELD_LOCK:
                fd, depth = _HELD[key]
                _HELD[key] = (fd, depth - 1)
        return
    fd = _acquire(out)
    with _HELD_LOCK:
        _HELD[key] = (fd, 1)
    try:
        yield
    finally:
        with _HELD_LOCK:
            del _HELD[key]
        with contextlib.suppress(OSError):
            _lock_path(out).unlink()
        os.close(fd)


def _acquire(out: Path) -> int:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        return os.open(os.devnull, os.O_RDONLY)
    path = _lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                raise FolderBusy(
                    f"{out}: another msp-sim command is writing to this folder right now. Wait for it to finish, "
                    "or choose another --out folder."
                ) from None
            raise
        # The holder before us may have removed the file between our open and our lock: then our lock is on a
        # file nobody else will see, so start again on the new one.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


# --------------------------------------------------------------------------------------------- folders


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == TOOL else None


def _is_sweep(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "fingerprint" in manifest


def owned(folder: Path) -> bool:
    """Whether ``folder`` is a results folder the tool wrote (it may be replaced)."""
    return not foreign_entries(folder)


def foreign_entries(folder: Path) -> list[str]:
    """The entries of an existing folder that the tool did not write (empty: the tool may replace it)."""
    entries = sorted(p.name for p in folder.iterdir())
    marker = _read_marker(folder)
    if marker is not None:
        mine = {*marker.get("files", []), MARKER}
    elif _is_sweep(folder):
        mine = set(_SWEEP_FILES)
    else:  # a folder of an earlier version: only the files one command writes, with its anchor file
        names = set(entries)
        legacy = any(names <= known for known in KNOWN_FILES.values()) and bool(names & _LEGACY_ANCHORS)
        mine = names if legacy else set()
    return [e for e in entries if e not in mine and not _tool_entry(folder / e)]


_LEGACY_ANCHORS = frozenset({"scenario.resolved.yaml", "outcomes.csv"})
_SWEEP_FILES = frozenset(
    {
        "manifest.json",
        "design.csv",
        "sweep.resolved.yaml",
        "base.resolved.yaml",
        "points.parquet",
        "summary.csv",
        "differences.csv",
        "parts",
        ".lock",
    }
)


def _sweep_entry(path: Path) -> bool:
    return path.name in _SWEEP_FILES or _tool_entry(path)


def _tool_entry(path: Path) -> bool:
    """An entry the tool wrote whatever folder it is in: a report, a workbook, or a results folder of its own."""
    if path.is_dir():
        return _read_marker(path) is not None or _is_sweep(path)
    return path.suffix.lower() in (".html", ".xlsx") and tool_wrote(path)


def _refusal(out: Path, foreign: list[str]) -> FolderRefused:
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    return FolderRefused(
        f"{out}: this folder holds files msp-sim did not write ({shown}), so it is left as it is. Fix: choose "
        "another --out folder (a new or empty one), or move those files away first."
    )


def check_target(out: Path) -> None:
    """Refuse (:class:`FolderRefused`) an output folder the tool may not replace: a file, or a folder holding
    anything the tool did not write. Reads only."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise FolderRefused(
            f"{out}: exists and is not a folder, so it is left as it is. Fix: give --out a folder name."
        )
    if out.is_dir():
        foreign = foreign_entries(out)
        if foreign:
            raise _refusal(out, foreign)


def _swap_patterns(out: Path) -> tuple[re.Pattern[str], re.Pattern[str]]:
    name = re.escape(out.name)
    return re.compile(rf"^\.{name}\.tmp-[a-z0-9_]{{8}}$"), re.compile(rf"^\.{name}\.old-\d+$")


def recover(out: Path) -> None:
    """Finish what an interrupted :func:`atomic_dir` left beside ``out`` (call with its lock held): if ``out`` is
    missing but its previous version is still parked, put it back; remove unfinished temporary folders."""
    tmp_re, old_re = _swap_patterns(out)
    try:
        siblings = list(out.parent.iterdir())
    except FileNotFoundError:
        return
    olds = sorted(
        (p for p in siblings if old_re.match(p.name) and p.is_dir()), key=lambda p: p.stat().st_mtime
    )
    if olds and not out.exists():
        olds.pop().rename(out)  # the swap stopped halfway: the previous results come back
    for leftover in [*olds, *(p for p in siblings if tmp_re.match(p.name) and p.is_dir())]:
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def claim_folder(out: Path | str) -> Iterator[Path]:
    """Claim the results folder ``out`` for writing: refuse it if the tool may not replace it (before creating
    anything), take its lock, and clean up what an interrupted write left. Hold it around the whole command, so
    that a second writer is turned away before it spends time computing."""
    out = Path(out)
    check_target(out)
    created = _missing_parents(out)
    try:
        with folder_lock(out):
            recover(_absolute(out))
            check_target(out)
            yield out
    finally:
        for folder in created:  # leave no empty folders behind from a command that wrote nothing
            with contextlib.suppress(OSError):
                folder.rmdir()


def _missing_parents(out: Path) -> list[Path]:
    missing = []
    parent = out.parent.absolute()
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    return missing


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2() if os.name == "posix" else None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where the system or the
    file system cannot."""
    if _RENAMEAT2 is None:
        return False
    return bool(_RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0)


def _version() -> str:
    try:
        return metadata.version(TOOL)
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


def write_marker(folder: Path, kind: str, extra: Iterable[str] = ()) -> None:
    """Mark ``folder`` as written by the tool, listing its entries."""
    files = sorted({p.name for p in folder.iterdir() if p.name != MARKER} | set(extra))
    marker = {"written_by": TOOL, "version": _version(), "kind": kind, "files": files}
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def atomic_dir(out: Path | str, kind: str) -> Iterator[Path]:
    """Yield a temporary folder beside ``out`` to write into; on success it replaces ``out`` in one step and is
    marked as the tool's, on any failure it is removed and ``out`` stays as it was.

    ``out`` is claimed first (:func:`claim_folder`): a folder holding anything the tool did not write is refused
    with :class:`FolderRefused` before anything is written.
    """
    out = _absolute(Path(out))
    with claim_folder(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        try:
            _share(tmp, folder=True)  # mkdtemp makes it owner-only
            yield tmp
            write_marker(tmp, kind)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _swap(tmp, out)


def _swap(new: Path, out: Path) -> None:
    """Put the finished folder ``new`` in place of ``out`` and remove the previous version."""
    if not out.exists():
        new.rename(out)
        return
    if _exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)  # the exchange left the previous results under the new name
        return
    parked = out.parent / f".{out.name}.old-{os.getpid()}"
    out.rename(parked)
    try:
        new.rename(out)
    except BaseException:
        parked.rename(out)  # keep the previous results rather than none
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(parked, ignore_errors=True)
