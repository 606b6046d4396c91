"""A finished sweep's tables: the tidy rows in design order, per-point summaries and paired differences,
written when every point is in and read back from a results folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulator.base.files import atomic_file, read_csv, write_csv
from simulator.metrics import METRICS

from .design import SweepPlan
from .errors import SweepError, SweepRunError
from .storage import manifest_of, order_rows, read_parts, write_failure

__all__ = ["SweepResults", "finalize", "load_results", "point_differences", "summarize_points"]


@dataclass
class SweepResults:
    """A finished sweep's tables: tidy rows, per-point summaries and paired differences, and the design."""

    out: Path
    manifest: dict[str, Any]
    design: pd.DataFrame
    rows: pd.DataFrame
    summary: pd.DataFrame = field(repr=False)
    differences: pd.DataFrame = field(repr=False)

    @property
    def parameters(self) -> list[str]:
        """Swept parameter names (columns of every table)."""
        return list(self.manifest["parameters"])

    @property
    def kind(self) -> str:
        """The design kind."""
        return str(self.manifest["kind"])

    @property
    def reference(self) -> str:
        """The reference contract."""
        return str(self.manifest["reference_contract"])

    @property
    def contract(self) -> str | None:
        """The contract the analyses compare with the reference."""
        c = self.manifest.get("contract")
        return None if c is None else str(c)

    @property
    def currency(self) -> str:
        """Currency of every money column."""
        return str(self.manifest.get("currency", "USD"))

    @property
    def locale(self) -> str:
        """How the base scenario writes numbers and money (its ``locale``)."""
        return str(self.manifest.get("locale", "en_US"))


def load_results(out: str | Path) -> SweepResults:
    """Read a sweep's results folder (from :func:`run_sweep`; if unfinished, without the missing points)."""
    out = Path(out)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise SweepError(
            f"{out}: not a sweep results folder (no manifest.json). Fix: give a folder that "
            "`msp-sim sweep --out` wrote."
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    design = read_csv(out / "design.csv", dtype={"point_id": str})
    if (out / "points.parquet").exists():
        rows = pd.read_parquet(out / "points.parquet")
    else:
        ids = list(dict.fromkeys(design["point_id"]))
        rows = read_parts(out / "parts")
        if rows.empty:
            raise SweepError(
                f"{out}: no finished points yet. Fix: run `msp-sim sweep` (with --resume) first."
            )
        rows = order_rows(rows[rows["point_id"].isin(set(ids))], ids, list(manifest["contracts"]))
    params = list(manifest["parameters"])
    return SweepResults(
        out=out,
        manifest=manifest,
        design=design,
        rows=rows,
        summary=summarize_points(rows, params),
        differences=point_differences(rows, str(manifest["reference_contract"]), params),
    )


def finalize(plan: SweepPlan, out: Path) -> SweepResults | None:
    """When every point is in: the sorted tidy table, per-point summaries and paired differences."""
    rows = read_parts(out / "parts")
    if rows.empty:
        return None
    ids = plan.point_ids
    rows = rows[rows["point_id"].isin(set(ids))]
    if rows["point_id"].nunique() < len(ids):
        return None
    rows = order_rows(rows, ids, [c.name for c in plan.base.contracts])
    reference = str(plan.spec.reference_contract)
    summary = summarize_points(rows, plan.parameters)
    differences = point_differences(rows, reference, plan.parameters)
    try:
        atomic_file(out / "points.parquet", lambda tmp: rows.to_parquet(tmp, index=False))
        atomic_file(out / "summary.csv", lambda tmp: write_csv(summary, tmp))
        atomic_file(out / "differences.csv", lambda tmp: write_csv(differences, tmp))
    except OSError as exc:
        raise SweepRunError(write_failure(out, exc)) from None
    return SweepResults(
        out=out,
        manifest=manifest_of(plan),
        design=plan.design,
        rows=rows,
        summary=summary,
        differences=differences,
    )


def _metric_columns(rows: pd.DataFrame) -> list[str]:
    return [m for m in METRICS if m in rows.columns]


def _intervals(grouped: Any, metrics: list[str], keys: list[str]) -> pd.DataFrame:
    """Mean, std, 95% t-interval and n per group and metric (missing values ignored), in long form: groups in
    order of appearance, metrics in ``METRICS`` order within each group."""
    mean = grouped[metrics].mean()
    std = grouped[metrics].std(ddof=1).reindex(mean.index)
    n = grouped[metrics].count().reindex(mean.index)
    m = len(metrics)
    long = mean.index.to_frame(index=False).loc[np.repeat(np.arange(len(mean)), m)].reset_index(drop=True)
    long.columns = keys
    long["metric"] = np.tile(np.array(metrics, dtype=object), len(mean))
    long["mean"] = mean.to_numpy(dtype=float).ravel()
    long["std"] = std.to_numpy(dtype=float).ravel()
    nn = n.to_numpy(dtype=float).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(nn > 1, stats.t.ppf(0.975, np.maximum(nn - 1, 1)), np.nan)
        half = t * long["std"].to_numpy() / np.sqrt(nn)
    long["ci_low"] = long["mean"] - half
    long["ci_high"] = long["mean"] + half
    long["n"] = nn.astype(int)
    return long


def summarize_points(rows: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    """Per point and contract, every metric's mean, std and 95% t-interval over replications:
    ``point_id, <parameters>, contract, metric, mean, std, ci_low, ci_high, n``."""
    metrics = _metric_columns(rows)
    long = _intervals(rows.groupby(["point_id", "contract"], sort=False), metrics, ["point_id", "contract"])
    values = rows.drop_duplicates("point_id").set_index("point_id")[parameters]
    long = long.join(values, on="point_id")
    cols = ["point_id", *parameters, "contract", "metric", "mean", "std", "ci_low", "ci_high", "n"]
    return long[cols]


def point_differences(rows: pd.DataFrame, reference: str, parameters: list[str]) -> pd.DataFrame:
    """Per point, each contract minus the reference contract, paired by replication, with a 95% t-interval:
    ``point_id, <parameters>, contract, reference, metric, mean, std, ci_low, ci_high, n``."""
    metrics = _metric_columns(rows)
    cols = [
        "point_id",
        *parameters,
        "contract",
        "reference",
        "metric",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "n",
    ]
    keyed = rows.set_index(["point_id", "replication"])
    ref = keyed[keyed["contract"] == reference][metrics]
    others = keyed[keyed["contract"] != reference]
    if others.empty or ref.empty:
        return pd.DataFrame(columns=cols)
    diff = others[metrics].sub(ref.reindex(others.index))
    diff["contract"] = others["contract"]
    diff = diff.reset_index()
    long = _intervals(diff.groupby(["point_id", "contract"], sort=False), metrics, ["point_id", "contract"])
    long["reference"] = reference
    values = rows.drop_duplicates("point_id").set_index("point_id")[parameters]
    long = long.join(values, on="point_id")
    return long[cols]
