"""Clustering as an assistant: how data-driven groups line up with the rule tiers.

A deterministic sample of one day's customers (a few thousand rows, drawn in SQL) is clustered
with k-means on scaled features; the report cross-tabulates clusters with the rule tiers and
suggests cut points (midpoints between neighbouring cluster centres, per feature) next to the
policy's current ones. It never assigns a tier: nothing is written to the warehouse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from tierops.lib.files import write_bytes
from tierops.tiering.engine import FRACTIONAL_TYPES, CompiledPolicy

NUMERIC_TYPES = ("int", *FRACTIONAL_TYPES)


@dataclass(frozen=True)
class KMeansResult:
    centers: np.ndarray  # in the scaled space, sorted by the first feature
    labels: np.ndarray
    inertia: float


def kmeans(x: np.ndarray, k: int, seed: int = 0, iterations: int = 100) -> KMeansResult:
    """Lloyd's algorithm with k-means++ seeding; deterministic for a given seed."""
    if len(x) < k:
        raise ValueError(f"k-means needs at least k={k} rows, got {len(x)}")
    rng = np.random.default_rng(seed)
    centers = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min(((x[:, None, :] - np.array(centers)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        pick = rng.choice(len(x), p=d2 / total) if total > 0 else rng.integers(len(x))
        centers.append(x[pick])
    c = np.array(centers, dtype=float)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iterations):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(axis=1)
        new = np.array(
            [x[labels == j].mean(axis=0) if (labels == j).any() else c[j] for j in range(k)]
        )
        if np.allclose(new, c):
            break
        c = new
    order = np.lexsort(c.T[::-1])
    remap = np.empty(k, dtype=int)
    remap[order] = np.arange(k)
    c = c[order]
    labels = remap[labels]
    inertia = float(((x - c[labels]) ** 2).sum())
    return KMeansResult(c, labels, inertia)


def scale(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Median-impute, log1p non-negative columns, z-score; returns the matrix and the transform."""
    filled = frame.apply(lambda s: s.fillna(s.median() if s.notna().any() else 0.0))
    logged = filled.copy()
    transform = []
    for col in filled.columns:
        use_log = bool((filled[col] >= 0).all())
        if use_log:
            logged[col] = np.log1p(filled[col])
        mean, std = float(logged[col].mean()), float(logged[col].std(ddof=0)) or 1.0
        transform.append({"feature": col, "log1p": use_log, "mean": mean, "std": std})
    t = pd.DataFrame(transform).set_index("feature")
    return ((logged - t["mean"]) / t["std"]).to_numpy(dtype=float), t


def unscale(value: float, feature: str, transform: pd.DataFrame) -> float:
    row = transform.loc[feature]
    raw = value * row["std"] + row["mean"]
    return float(np.expm1(raw)) if row["log1p"] else float(raw)


def suggested_cuts(centers: np.ndarray, transform: pd.DataFrame) -> dict[str, list[float]]:
    """Per feature: midpoints between neighbouring cluster centres, back in raw units."""
    out = {}
    for j, feature in enumerate(transform.index):
        mids = sorted(centers[:, j])
        cuts = [unscale((a + b) / 2, feature, transform) for a, b in pairwise(mids)]
        out[feature] = [round(c, 2) for c in cuts]
    return out


def default_features(compiled: CompiledPolicy) -> list[str]:
    """The numeric feature columns the policy's rules look at."""
    return sorted(
        c
        for c in compiled.used_columns
        if c in compiled.column_types
        and any(t in compiled.column_types[c].lower() for t in NUMERIC_TYPES)
    )


@dataclass(frozen=True)
class ClusterReport:
    day: date
    k: int
    sample: int
    features: list[str]
    crosstab: pd.DataFrame  # clusters × tiers, counts
    profile: pd.DataFrame  # per cluster: size and mean of each raw feature
    suggested: dict[str, list[float]]
    current: dict[str, float | None]  # the policy's cut points in force that day (by label)
    folder: Path


def cluster_report(
    conn: duckdb.DuckDBPyConnection,
    compiled: CompiledPolicy,
    day: date,
    outputs_dir: Path,
    k: int = 5,
    sample: int = 5000,
    features: list[str] | None = None,
    seed: int = 0,
) -> ClusterReport:
    features = features or default_features(compiled)
    unknown = [f for f in features if f not in compiled.column_types]
    if unknown or not features:
        raise ValueError(
            f"cannot cluster on {unknown or 'no features'}: not numeric feature columns"
        )
    cols = ", ".join(f"f.{c}" for c in features)
    frame = conn.execute(
        f"select a.tier_code, {cols} from tier_assignments as a "
        "join customer_features as f on f.customer_id = a.customer_id and f.as_of_date = a.as_of_date "
        "where a.as_of_date = ? and a.is_primary order by md5(a.customer_id) limit ?",
        [day, sample],
    ).df()
    if frame.empty:
        raise ValueError(f"no tier assignments on {day}; run the pipeline for that day first")
    raw = frame[features].astype(float)
    matrix, transform = scale(raw)
    result = kmeans(matrix, k, seed=seed)
    clusters = pd.Series(result.labels, name="cluster")
    crosstab = pd.crosstab(clusters, frame["tier_code"].astype(str))
    profile = raw.groupby(clusters).mean().round(2)
    profile.insert(0, "customers", clusters.value_counts().sort_index())
    current = dict(
        conn.execute(
            "select name, value from tier_thresholds where as_of_date = ?", [day]
        ).fetchall()
    )
    labels = {r.name: r.label for r in compiled.quantiles}
    report = ClusterReport(
        day=day,
        k=k,
        sample=len(frame),
        features=features,
        crosstab=crosstab,
        profile=profile,
        suggested=suggested_cuts(result.centers, transform),
        current={labels.get(n, n): v for n, v in current.items()},
        folder=outputs_dir / day.isoformat() / "clustering",
    )
    _write(report)
    return report


def _write(report: ClusterReport) -> None:
    folder = report.folder
    write_bytes(folder / "crosstab.csv", report.crosstab.to_csv().encode("utf-8-sig"))
    write_bytes(folder / "profile.csv", report.profile.to_csv().encode("utf-8-sig"))
    body = {
        "day": report.day.isoformat(),
        "k": report.k,
        "sample": report.sample,
        "features": report.features,
        "suggested_cut_points": report.suggested,
        "current_cut_points": report.current,
        "note": "clusters are an aid for reviewing the rules; they never assign tiers",
    }
    write_bytes(
        folder / "clusters.json",
        json.dumps(body, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
    )
    lines = [
        f"# Clusters vs rule tiers on {report.day}",
        "",
        f"k-means (k={report.k}) on a deterministic sample of {report.sample:,} customers, "
        f"features {', '.join(report.features)} (median-imputed, log1p, z-scored). "
        "Clusters never assign tiers; use them to question the rules.",
        "",
        "## Clusters × tiers (customers)",
        "",
        _markdown(report.crosstab),
        "",
        "## Cluster profiles (means)",
        "",
        _markdown(report.profile),
        "",
        "## Suggested cut points (midpoints between neighbouring cluster centres)",
        "",
        *(
            f"- `{f}`: {', '.join(f'{c:,.2f}' for c in cuts)}"
            for f, cuts in report.suggested.items()
        ),
        "",
        "Current cut points: "
        + (
            ", ".join(
                f"`{k}` = {v:,.2f}" if v is not None else f"`{k}` = null"
                for k, v in report.current.items()
            )
            or "none"
        ),
        "",
    ]
    write_bytes(folder / "report.md", "\n".join(lines).encode("utf-8"))


def _markdown(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return f"{int(v):,}"
        return f"{v:,}" if isinstance(v, (int, np.integer)) else str(v)

    head = [str(frame.index.name or ""), *map(str, frame.columns)]
    rows = [[str(i), *map(cell, r)] for i, r in zip(frame.index, frame.to_numpy(), strict=True)]
    return "\n".join(
        "| " + " | ".join(cells) + " |" for cells in [head, ["---"] * len(head), *rows]
    )
