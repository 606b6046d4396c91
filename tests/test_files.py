"""The files the tool writes: safe folder names, folders it owns, atomic swaps that recover, one writer per
folder, the user's umask, and CSV cells that a spreadsheet never runs as formulas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulator.base.files import (
    MARKER,
    FolderBusy,
    FolderRefused,
    atomic_dir,
    claim_folder,
    default_out,
    folder_lock,
    read_csv,
    recover,
    slug,
    tool_wrote,
    write_csv,
)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (hidden ones included) with its bytes (None for a folder)."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))
    }


# ------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("baseline", "baseline"),
        ("", "unnamed"),
        (".", "unnamed"),
        ("..", "unnamed"),
        ("../escaped", "escaped"),
        ("/some/absolute/folder", "some-absolute-folder"),
        ("a\0b", "a-b"),
        ("small office (8 users)", "small-office-8-users"),
        ("Büro Köln", "Büro-Köln"),
        (".hidden", "hidden"),
        ("v1.2", "v1.2"),
        ("C:\\Users\\x", "C-Users-x"),
        ("x" * 500, "x" * 80),
    ],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected


@given(st.text(max_size=300))
def test_default_out_always_lands_in_results(name: str) -> None:
    out = default_out(name, "-incentives")
    assert out.parent == Path("results")
    assert out.name not in ("", ".", "..") and not out.name.startswith(".")
    assert "/" not in out.name and "\\" not in out.name
    assert all(ch.isprintable() for ch in out.name)
    assert len(out.name) <= 80 and out.name.endswith("-incentives")


# ------------------------------------------------------------------------------------------- folders


def write(out: Path, files: dict[str, str], kind: str = "run") -> None:
    with atomic_dir(out, kind) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)


def test_a_new_folder_is_marked_and_replaced_next_time(tmp_path: Path) -> None:
    out = tmp_path / "results" / "x"
    write(out, {"summary.csv": "1"})
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "summary.csv"]
    write(out, {"summary.csv": "2", "monthly.csv": "3"})
    assert (out / "summary.csv").read_text() == "2"
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "monthly.csv", "summary.csv"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["x"]  # no lock, no temporaries left


@pytest.mark.parametrize(
    "layout",
    [
        {"notes.txt": "mine"},  # a folder of the user's
        {"summary.csv": "1", "scenario.resolved.yaml": "x", "notes.txt": "mine"},  # old results + a user file
        {"sub/deep.txt": "mine"},
    ],
)
def test_a_folder_of_the_users_is_refused_and_untouched(tmp_path: Path, layout: dict[str, str]) -> None:
    out = tmp_path / "out"
    for name, text in layout.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    before = tree(tmp_path)
    with pytest.raises(FolderRefused, match="did not write"):
        write(out, {"summary.csv": "new"})
    assert tree(tmp_path) == before


def test_a_user_file_added_to_results_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, {"summary.csv": "1"})
    (out / "my-notes.txt").write_text("keep me")
    before = tree(tmp_path)
    with pytest.raises(FolderRefused, match=r"my-notes\.txt"):
        write(out, {"summary.csv": "2"})
    assert tree(tmp_path) == before


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("a file of the user's")
    with pytest.raises(FolderRefused, match="not a folder"):
        write(target, {"summary.csv": "1"})
    assert target.read_text() == "a file of the user's"


def test_empty_and_earlier_version_folders_are_replaced(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    write(empty, {"summary.csv": "1"})
    assert (empty / MARKER).is_file()
    legacy = tmp_path / "legacy"  # written by a version without the marker: only its own files
    legacy.mkdir()
    for name in ("summary.csv", "replications.csv", "scenario.resolved.yaml", "comparison.png"):
        (legacy / name).write_text("old")
    write(legacy, {"summary.csv": "new"})
    assert (legacy / "summary.csv").read_text() == "new"


def test_reports_and_workbooks_of_the_tool_are_its_own(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, {"summary.csv": "1"})
    (out / "report.html").write_text(
        '<!doctype html><html><head><meta name="generator" content="msp-sim 0.1">'
    )
    write(out, {"summary.csv": "2"})
    (out / "report.html").write_text("<html>the user's own page</html>")
    with pytest.raises(FolderRefused, match=r"report\.html"):
        write(out, {"summary.csv": "3"})
    assert not tool_wrote(out / "report.html")


def test_a_failed_write_keeps_the_previous_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, {"summary.csv": "1"})
    before = tree(tmp_path)
    with pytest.raises(KeyboardInterrupt), atomic_dir(out, "run") as tmp:
        (tmp / "summary.csv").write_text("half")
        raise KeyboardInterrupt
    assert tree(tmp_path) == before


def test_an_interrupted_swap_is_undone_by_the_next_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, {"summary.csv": "old"})
    # kill -9 between the two renames of a swap: the old folder parked, the new one unfinished, no `out`.
    out.rename(tmp_path / ".out.old-4243")
    (tmp_path / ".out.tmp-abcd1234").mkdir()
    (tmp_path / ".out.tmp-abcd1234" / "summary.csv").write_text("unfinished")
    (tmp_path / ".outer.tmp-abcd1234").mkdir()  # another folder's: never touched
    assert not out.exists()
    with folder_lock(out):
        recover(out)
    assert (out / "summary.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".outer.tmp-abcd1234", "out"]
    write(out, {"summary.csv": "new"})
    assert (out / "summary.csv").read_text() == "new"


def test_leftover_temporaries_are_removed_by_the_next_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, {"summary.csv": "1"})
    (tmp_path / ".out.tmp-zz99yy88").mkdir()
    write(out, {"summary.csv": "2"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


HOLD = "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); fcntl.lockf(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)"  # noqa: E501


def test_one_writer_per_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, {"summary.csv": "1"})
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / ".out.lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderBusy, match="another msp-sim command is writing"):
            write(out, {"summary.csv": "2"})
        assert (out / "summary.csv").read_text() == "1"
    finally:
        holder.kill()
        holder.wait()
    write(out, {"summary.csv": "3"})  # the lock went with the process that held it
    assert (out / "summary.csv").read_text() == "3"


def test_the_lock_is_reentrant_and_claims_remove_the_folders_they_made(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    with claim_folder(out):
        assert (tmp_path / "a" / "b" / ".out.lock").exists()
        write(out, {"summary.csv": "1"})  # the write inside the claim takes the same lock again
    assert not (tmp_path / "a" / "b" / ".out.lock").exists()
    empty = tmp_path / "c" / "out"
    with claim_folder(empty):
        pass  # nothing written
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_folders_and_files_honour_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        out = tmp_path / "out"
        write(out, {"summary.csv": "1"})
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    assert (out / "summary.csv").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (out / MARKER).stat().st_mode & 0o777 == 0o666 & ~umask


# ------------------------------------------------------------------------------------------- CSV


def test_formula_cells_are_neutralised_and_restored(tmp_path: Path) -> None:
    names = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "'=x", "''@y", "plain", "'quoted", "a=b", ""]
    frame = pd.DataFrame({"contract": names, "value": [-1.5] * len(names)})
    path = tmp_path / "t.csv"
    write_csv(frame, path)
    cells = [line.split(",")[0].strip('"') for line in path.read_text().splitlines()[1:]]
    assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in cells)
    assert "-1.5" in path.read_text()  # numbers stay numbers
    back = read_csv(path, keep_default_na=False)
    assert back["contract"].tolist() == names
    assert back["value"].tolist() == [-1.5] * len(names)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1), min_size=1))
@example(texts=[" "])
@example(texts=["  ", "=x"])
def test_any_name_survives_the_csv_round_trip(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    write_csv(pd.DataFrame({"name": texts}), path)
    back = read_csv(path, keep_default_na=False, dtype=str)
    assert back["name"].tolist() == texts


def test_a_report_of_results_leaves_out_what_an_interrupted_write_left(tmp_path: Path) -> None:
    from simulator.outputs.folders import RUN_FILES
    from simulator.outputs.report import find_results

    for name in ("baseline", ".baseline.old-4242", ".baseline.tmp-abcd1234"):
        for file in RUN_FILES:
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / file).write_text("x")
    assert find_results(tmp_path) == [("run", tmp_path / "baseline")]


def test_a_table_without_columns_reads_back_as_an_empty_table(tmp_path: Path) -> None:
    # An analysis with nothing to tabulate (no managed contract to design credits for) writes an empty table.
    write_csv(pd.DataFrame(), tmp_path / "empty.csv")
    assert read_csv(tmp_path / "empty.csv").empty
