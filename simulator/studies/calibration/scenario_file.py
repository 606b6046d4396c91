"""The calibrated scenario file: the base scenario's data with the fitted values in place, written as YAML with
each fitted value's estimate, interval and sample size in a comment above it, and a header saying where it came
from. The text is checked to load as a valid scenario before anything is written."""

from __future__ import annotations

from typing import Any

from simulator.base.files import GENERATED_YAML
from simulator.config import Scenario, load_scenario
from simulator.config.commented import commented_yaml, set_paths

from .fit import Calibration

__all__ = ["calibrated_text"]


def calibrated_text(
    cal: Calibration, base_data: dict[str, Any], base_label: str, map_label: str
) -> tuple[str, Scenario]:
    """The calibrated scenario's YAML text, and the scenario it loads as (a :class:`ScenarioError` if the changes
    make an invalid one)."""
    h = cal.history
    data = set_paths(base_data, [(c.path, c.value, c.remove) for c in cal.changes])
    stem = h.source.rsplit("/", 1)[-1]
    data["name"] = f"{base_data.get('name', 'scenario')}-calibrated"
    data["description"] = (
        f"{cal.base.name} with its incidents calibrated from {stem}: {len(h.tickets):,} tickets of "
        f"{len(cal.clients)} client{'s' if len(cal.clients) != 1 else ''} from {h.start:%Y-%m-%d} to {h.end:%Y-%m-%d}, "
        f"recorded under {cal.recorded}."
    )
    scenario = load_scenario(data)
    comments = {c.path: c.comment for c in cal.changes if c.comment}
    header = [
        f"{GENERATED_YAML.removeprefix('# ')} from {h.source} (map {map_label}) on the base {base_label}.",
        "",
        f"The history: {len(h.tickets):,} usable tickets of {h.rows:,} rows, {len(cal.clients)} client(s), "
        f"{h.start:%Y-%m-%d} to {h.end:%Y-%m-%d} ({cal.months:.1f} months), times in {h.timezone}; recorded under "
        f"the base's contract {cal.recorded}.",
        "Fitted: the clients' sizes, each category's incident rate, effort distribution (family chosen by "
        "likelihood), priority mix, on-site share and parts, the major-incident probability and the reopen "
        "probability, where the history has them; each fitted value has its estimate, 95% interval and sample "
        "size in the comment above it. Everything else is the base's.",
        *[f"Note: {n}." for n in cal.notes],
        "The calibration report (charts, the model checked against the history) is in the results folder "
        "msp-sim calibrate wrote.",
    ]
    return commented_yaml(data, comments, header), scenario
