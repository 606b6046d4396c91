"""What every command shares: the consoles, the one-paragraph failure (exit code 2 by default), the
options that mean the same everywhere, the size check, claiming and writing the results folder."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from simulator.config import Scenario

PIPED_WIDTH = 120
"""Line width when the output is not a terminal (a file, a pipe, a CI log) and COLUMNS is not set."""

err = Console(stderr=True, highlight=False)
console = Console(highlight=False)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


def results_folder(out: Path | None, scenario: Scenario, suffix: str = "") -> Path:
    """Where a command writes: ``--out``, else ``results/<scenario><suffix>``; a what-if run (``--set``) gets its
    own folder, ``results/<scenario>-what-if-<hash of the changes><suffix>``, so it never replaces the
    scenario's own results. Says where a what-if run goes."""
    import hashlib

    from simulator.base.files import default_out

    if out is not None:
        return out
    if not scenario.what_if:
        return default_out(scenario.name, suffix)
    digest = hashlib.sha256("\n".join(scenario.what_if).encode()).hexdigest()[:8]
    folder = default_out(scenario.name, f"-what-if-{digest}{suffix}")
    err.print(
        f"what-if run ({escape(', '.join(scenario.what_if))}): writing to {folder}, not to the scenario's own "
        f"{default_out(scenario.name, suffix)} (--out chooses another folder)",
        soft_wrap=True,
    )
    return folder


def load(path: str, overrides: tuple[str, ...]) -> Scenario:
    from simulator.config import ScenarioError, load_scenario

    try:
        return load_scenario(path, list(overrides))
    except ScenarioError as exc:
        fail(str(exc))
        raise  # unreachable


set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set contracts.managed-services.fee_per_user_month=120 "
    "(list items by index or name). Repeatable.",
)


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

seed_option = click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Seed (default: the scenario's)."
)


def replications_option(meaning: str = "Replications (default: the scenario's).") -> Decorator:
    """The --replications option (at least 2, for an interval)."""
    return click.option(
        "--replications", "-r", type=click.IntRange(min=2, max=100_000), default=None, help=meaning
    )


def chosen(
    text: str | None, known: Sequence[str], flag: str, what: str, among: str
) -> tuple[str, ...] | None:
    """The names of a comma-separated option (None when not given); names not in ``known`` fail with exit 2 and
    ``{flag}: {what} a, b; {among} <known>.``"""
    if not text:
        return None
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = [x for x in names if x not in known]
    if unknown:
        fail(f"{flag}: {what} {', '.join(unknown)}; {among} {', '.join(known)}.")
    return names


def workers_option(default: int) -> Decorator:
    """The --workers option; results never depend on it."""
    return click.option(
        "--workers",
        "-w",
        type=click.IntRange(min=0),
        default=default,
        show_default=True,
        help="Worker processes; 0 = all cores. Results do not depend on it.",
    )


def out_option(suffix: str) -> Decorator:
    """The --out option of a command whose default folder is results/<scenario name><suffix>."""
    return click.option(
        "--out",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"Results folder (default: results/<scenario name>{suffix}).",
    )


def resolved(sc: Scenario, replications: int | None, seed: int | None) -> Scenario:
    """The scenario with --replications and --seed written in, so that scenario.resolved.yaml reruns the run."""
    update: dict[str, int] = {}
    if replications is not None:
        update["replications"] = replications
    if seed is not None:
        update["seed"] = seed
    return sc.model_copy(update=update) if update else sc


force_option = click.option(
    "--force",
    is_flag=True,
    help="Start even if the job's estimated peak memory is more than this machine has available.",
)


def sized(estimate: Any, shrink: str, force: bool) -> None:
    """Say how big a long job is before it starts; refuse one whose peak memory would not fit (exit 2, nothing
    written) unless --force."""
    if not estimate.fits():
        if not force:
            fail(estimate.refusal(shrink))
        err.print(
            f"[yellow]warning:[/] {escape(estimate.describe())}; started anyway (--force).", soft_wrap=True
        )
    elif estimate.announce:
        err.print(f"{escape(estimate.describe())}.", soft_wrap=True)


def claim(folder: Path) -> None:
    """Claim the results folder for this command before any work starts: refuse a folder the tool may not
    replace (exit 2, nothing touched), turn away a second writer (exit 1), hold the lock until the command ends."""
    from simulator.base.files import OutputError, claim_folder

    try:
        click.get_current_context().with_resource(claim_folder(folder))
    except OutputError as exc:
        fail(str(exc), exc.exit_code)


def earlier_reports(folder: Path) -> list[str]:
    """The report and workbook a results folder holds from an earlier run (they go when the folder is replaced)."""
    return [name for name in ("report.html", "results.xlsx") if (folder / name).is_file()]


def say_replaced(folder: Path, earlier: list[str], rewritten: bool) -> None:
    """Tell the user that replacing a results folder replaced the report in it, and whether a new one was made."""
    if earlier:
        what = " and ".join(earlier)
        then = "new ones were written" if rewritten else "this run wrote none (add --report, or use --out)"
        err.print(
            f"note: {folder} held {what} from an earlier run; they were replaced with the folder: {then}.",
            soft_wrap=True,
        )


def written(folder: Path, write: Callable[[], object]) -> None:
    """Run an atomic write; a failure leaves nothing behind and ends the command with a clear message. Charts
    that could not be drawn are reported; their tables are written."""
    import warnings

    from simulator.base.files import OutputError
    from simulator.outputs.folders import ChartWarning

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ChartWarning)
            write()
    except OutputError as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:
        fail(
            f"could not write results to {folder}: {exc.strerror or exc}. Nothing was written; "
            "choose another --out folder or free some space.",
            code=1,
        )
    for warning in caught:
        if issubclass(warning.category, ChartWarning):
            err.print(f"[yellow]warning:[/] {escape(str(warning.message))}", soft_wrap=True)


def progress_bar(*middle: ProgressColumn) -> Progress | PlainProgress:
    """A progress bar on stderr that disappears when done: what, the bar, done of total, ``middle`` columns, time
    left. When stderr is not a terminal (a pipe, a file, a CI log) plain lines instead (:class:`PlainProgress`)."""
    if not err.is_terminal:
        return PlainProgress()
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *middle,
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def stepper(bar: Progress | PlainProgress, task: TaskID, verb: str) -> Callable[[str], None]:
    """A callback for work told in named steps: each call shows the step starting ("writing the report") and
    counts the one before it as done; the caller completes the task when the last one ends."""
    started = 0

    def step(what: str) -> None:
        nonlocal started
        bar.update(task, completed=started, description=f"{verb} {what}")
        started += 1

    return step


class PlainProgress:
    """Progress as plain lines on stderr, for output that is not a terminal: a line when a task starts, then at
    most one every :attr:`EVERY` seconds or tenth of the work, whichever comes later (done of total, rate, time
    left), and a last one with the time it took. The calls are those of :class:`rich.progress.Progress` that the
    commands use (``add_task``, ``advance``, ``update``)."""

    EVERY = 5.0
    """Seconds between two lines at least [s]."""

    def __init__(self) -> None:
        self._tasks: dict[TaskID, dict[str, Any]] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        for task in self._tasks.values():
            if not task["closed"]:
                self._line(task, final=True, stopped=exc[0] is not None)

    def add_task(
        self, description: str, total: float | None = None, completed: float = 0, **_: Any
    ) -> TaskID:
        import time

        key = TaskID(len(self._tasks))
        now = time.monotonic()
        self._tasks[key] = {
            "description": description,
            "total": total,
            "done": completed,
            "first": completed,
            "started": now,
            "said": now,
            "said_done": completed,
            "closed": False,
        }
        todo = f", {total - completed:,.0f} to do" if total else ""
        err.print(f"{escape(description)}: started{todo}", soft_wrap=True, highlight=False)
        return key

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def update(
        self,
        task_id: TaskID,
        *,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        **_: Any,
    ) -> None:
        import time

        task = self._tasks[task_id]
        if total is not None:
            task["total"] = total
        if description is not None:
            task["description"] = description
        if completed is not None:
            task["done"] = completed
        if advance is not None:
            task["done"] += advance
        total_now = task["total"]
        if total_now and task["done"] >= total_now:
            if not task["closed"]:
                self._line(task, final=True)
            return
        now = time.monotonic()
        tenth = (total_now or 0) / 10
        if now - task["said"] >= self.EVERY and task["done"] - task["said_done"] >= tenth:
            self._line(task)
            task["said"], task["said_done"] = now, task["done"]

    def _line(self, task: dict[str, Any], final: bool = False, stopped: bool = False) -> None:
        import time

        elapsed = time.monotonic() - task["started"]
        done, total = task["done"], task["total"]
        if final:
            task["closed"] = True
            ended = (
                f"stopped after {done:,.0f}" + (f" of {total:,.0f}" if total else "")
                if stopped
                else (f"done, {done:,.0f}")
            )
            err.print(
                f"{escape(task['description'])}: {ended} in {_duration(elapsed)}",
                soft_wrap=True,
                highlight=False,
            )
            return
        rate = (done - task["first"]) / elapsed if elapsed > 0 else 0.0
        text = f"{escape(task['description'])}: {done:,.0f}" + (f" of {total:,.0f}" if total else "")
        text += f", {rate:,.2f}/s"
        if total and rate > 0:
            text += f", about {_duration((total - done) / rate)} left"
        err.print(text, soft_wrap=True, highlight=False)


def _duration(seconds: float) -> str:
    """A duration for people: 42 s, 3 min 5 s, 1 h 4 min."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"
