"""The run report page: one self-contained HTML file per day, plus an index of all days.

Only aggregates reach this module (tier counts, KPI rows, a migration matrix, check results, the
day's manifest); it renders them with inline CSS and inline SVG, so the page works offline and
from a file share. Labels are Chinese and English.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path

from tierops.drift.migration import NONE
from tierops.lib.files import atomic_open
from tierops.reporting.charts import bar_chart, colour, interval_chart, line_chart
from tierops.reporting.kpis import KPI_LABELS

REPORT_FILE = "report.html"
INDEX_FILE = "index.html"
NA = "暂无 / not available"


@dataclass(frozen=True)
class TierInfo:
    code: str
    name_zh: str
    name_en: str

    @property
    def label(self) -> str:
        return f"{self.name_zh} {self.name_en}"


@dataclass(frozen=True)
class CheckResult:
    asset: str
    name: str
    passed: bool | None  # None: planned or not executed
    severity: str
    description: str
    run: str = ""  # 'this run' or the id of the earlier run that produced it


@dataclass
class ReportData:
    day: date
    policy_version: str | None
    tiers: list[TierInfo]
    counts: dict[str, int]
    trend: dict[str, list[tuple[date, float]]]
    migration_from: date | None = None
    migration: list[tuple[str, str, int]] = field(default_factory=list)
    checks: list[CheckResult] | None = None  # latest Dagster check results
    drift: list[CheckResult] | None = None  # drift_checks rows of the day (None: no table)
    kpis: list[dict] = field(default_factory=list)
    reactivation_tiers: list[str] = field(default_factory=list)
    renewal_cycle_days: int | None = None
    experiments: list[dict] | None = None  # experiment_log rows of the day
    files: list[dict] = field(default_factory=list)
    replaced_policy: str | None = None  # reduced mode: the configured policy the run replaced
    unavailable_features: list[str] = field(default_factory=list)

    @property
    def customers(self) -> int:
        return sum(self.counts.values())

    def tier(self, code: str) -> TierInfo:
        for t in self.tiers:
            if t.code == code:
                return t
        return TierInfo(code, code, code)


# --- formatting ---------------------------------------------------------------------------------


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def money(value: float | None) -> str:
    return "—" if value is None else f"¥{value:,.0f}"


def pp(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.1f} pp"


CSS = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:24px auto;
max-width:1080px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd;
padding-bottom:4px}.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f5f5f5}
td.l,th.l{text-align:left}.ok{color:#2e7d32}.bad{color:#c62828}.warn{color:#b26a00}
.na{color:#888;font-style:italic}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}svg.chart{display:block;margin:8px 0}
td{vertical-align:top}td small.warn{display:block;max-width:280px;text-align:left}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    head = "".join(f"<th{' class=l' if i < left else ''}>{h}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=l' if i < left else ''}>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def tier_colour(d: ReportData, code: str) -> str:
    codes = [t.code for t in d.tiers]
    return colour(codes.index(code) if code in codes else len(codes))


# --- sections -----------------------------------------------------------------------------------


def _tiers_section(d: ReportData) -> str:
    total = d.customers
    items = [
        (d.tier(c).label, n, f"{n:,} ({pct(n / total if total else None)})", tier_colour(d, c))
        for c, n in sorted(d.counts.items(), key=lambda kv: -kv[1])
    ]
    bars = bar_chart(items, "tier sizes") if items else f"<p class=na>{NA}</p>"
    trend = {d.tier(code).label: (points, tier_colour(d, code)) for code, points in d.trend.items()}
    lines = line_chart(trend, "tier share over time") if trend else f"<p class=na>{NA}</p>"
    return (
        "<h2>分层规模与占比 / Tier sizes and shares</h2>"
        f"{bars}<h3>占比趋势 / Share trend</h3>{lines}"
    )


def _migration_section(d: ReportData) -> str:
    title = "<h2>分层迁移矩阵 / Tier migration matrix</h2>"
    if d.migration_from is None or not d.migration:
        return title + f"<p class=na>{NA}</p>"
    codes = [t.code for t in d.tiers]
    codes += sorted({c for f, t, _ in d.migration for c in (f, t)} - set(codes) - {NONE})
    cells = {(f, t): n for f, t, n in d.migration}
    rows_from = codes + ([NONE] if any(f == NONE for f, _, _ in d.migration) else [])
    cols_to = codes + ([NONE] if any(t == NONE for _, t, _ in d.migration) else [])
    top = max(cells.values(), default=1)
    headers = [f"{d.migration_from} ↓ / {d.day} →"] + [
        escape(d.tier(c).label) if c != NONE else "离开 / left" for c in cols_to
    ]
    rows = []
    for f in rows_from:
        name = escape(d.tier(f).label) if f != NONE else "新进入 / entered"
        row = [name]
        for t in cols_to:
            n = cells.get((f, t), 0)
            alpha = 0.08 + 0.6 * n / top if n else 0
            style = f" style='display:block;background:rgba(53,102,168,{alpha:.2f})'" if n else ""
            row.append(f"<span{style}>{n:,}</span>" if n else "0")
        rows.append(row)
    return (
        title + f"<p class=sub>行：{d.migration_from} 的分层；列：{d.day} 的分层 / rows: tier on "
        f"{d.migration_from}; columns: tier on {d.day}</p>" + _table(headers, rows)
    )


def _check_row(c: CheckResult) -> list[str]:
    if c.passed is None:
        status = "<span class=na>未执行 / not run</span>"
    elif c.passed:
        status = "<span class=ok>通过 / passed</span>"
    else:
        cls = "bad" if c.severity == "ERROR" else "warn"
        status = f"<span class={cls}>未通过 / failed ({escape(c.severity)})</span>"
    return [escape(c.asset), escape(c.name), status, escape(c.description), escape(c.run)]


def _checks_section(d: ReportData) -> str:
    """Failed checks in full; passed and not-run ones folded (a native <details>, no script)."""
    title = "<h2>检查与漂移 / Checks and drift</h2>"
    headers = ["资产 / asset", "检查 / check", "结果 / result", "说明 / detail"]
    title += f"<h3>当日漂移检查 / Drift checks on {d.day.isoformat()}</h3>"
    if d.drift:
        title += _table(headers, [_check_row(c)[:4] for c in d.drift], 4)
    else:
        title += f"<p class=na>{NA}</p>"
    title += "<h3>最近一次检查结果 / Latest check results (Dagster)</h3>"
    if not d.checks:
        return title + f"<p class=na>{NA}</p>"
    headers = [*headers, "运行 / run"]
    failed = [c for c in d.checks if c.passed is False]
    others = [c for c in d.checks if c.passed is not False]
    summary = (
        f"<p>{len(failed)} 项未通过 / failed, "
        f"{sum(c.passed is True for c in d.checks)} 项通过 / passed, "
        f"{sum(c.passed is None for c in d.checks)} 项未执行 / not run</p>"
    )
    out = title + summary
    if failed:
        out += _table(headers, [_check_row(c) for c in failed], 5)
    if others:
        out += (
            f"<details><summary>其余检查 / other checks ({len(others)})</summary>"
            + _table(headers, [_check_row(c) for c in others], 5)
            + "</details>"
        )
    return out


def _kpi_value(row: dict | None) -> str:
    if row is None:
        return "—"
    if row["kpi"] in ("ltv_to_date", "revenue_per_customer", "revenue_next_per_customer"):
        return money(row["value"])
    if row["value"] is None:
        return "—"
    return f"{pct(row['value'])} <small>({row['numerator']:,.0f}/{row['denominator']:,.0f})</small>"


def _kpi_section(d: ReportData) -> str:
    title = "<h2>分层指标 / KPIs per tier</h2>"
    if not d.kpis:
        return title + f"<p class=na>{NA}</p>"
    by = {(r["kpi"], r["window_days"], r["tier_code"]): r for r in d.kpis}
    columns = sorted({(r["kpi"], r["window_days"]) for r in d.kpis if r["kpi"] != "customers"})
    order = list(KPI_LABELS)
    columns.sort(key=lambda kw: (order.index(kw[0]) if kw[0] in order else 99, kw[1] or 0))
    tiers = [t for t in d.tiers if t.code in d.counts]
    headers = ["指标 / KPI"] + [escape(t.label) for t in tiers]
    rows = [["客户数 / customers"] + [f"{d.counts[t.code]:,}" for t in tiers]]
    for kpi, w in columns:
        zh, en = KPI_LABELS.get(kpi, (kpi, kpi))
        suffix = f" {w}d" if w else ""
        label = f"{zh}{suffix} <small>/ {en}{suffix}</small>"
        rows.append([label] + [_kpi_value(by.get((kpi, w, t.code))) for t in tiers])
    snapshots = sorted(
        {(r["window_days"], r["snapshot_date"]) for r in d.kpis if r["snapshot_date"]}
    )
    note = "; ".join(f"{w}d: {s} → {d.day}" for w, s in snapshots) or "—"
    renewal = (
        ""
        if any(r["kpi"] == "renewal_rate" for r in d.kpis)
        else "<p class=na>续费率：不适用（无到期续费）/ renewal rate: not applicable (no "
        "subscription renewals fell due and no renewal cycle in config/reporting.yaml)</p>"
    )
    rates = []
    for w in sorted({w for k, w in columns if k == "repurchase_rate"}):
        for t in d.tiers:
            r = by.get(("repurchase_rate", w, t.code))
            if r and r["value"] is not None:
                rates.append(
                    (f"{t.label} {w}d", r["value"], pct(r["value"]), tier_colour(d, t.code))
                )
    chart = (
        "<h3>复购率 / Repurchase rate</h3>" + bar_chart(rates, "repurchase rate by tier")
        if rates
        else ""
    )
    return (
        title
        + f"<p class=sub>结果窗口（快照日 → 报告日）/ outcome windows (snapshot → report day): "
        f"{escape(note)}</p>" + _table(headers, rows) + renewal + chart
    )


VERDICTS = {
    "uplift": ("有提升 / uplift", "ok"),
    "negative": ("负向 / negative", "bad"),
    "no_difference": ("无显著差异 / no significant difference", ""),
    "inconclusive": ("样本不足，勿下结论 / inconclusive", "warn"),
}


def _ab_section(d: ReportData) -> str:
    title = "<h2>A/B 实验结果 / A/B readouts (treatment vs holdout)</h2>"
    if d.experiments is None:
        return title + f"<p class=na>{NA}</p>"
    if not d.experiments:
        return title + "<p class=na>今日无实验结果 / no experiment readouts for this day</p>"
    rows, forest = [], []
    for e in d.experiments:
        text, cls = VERDICTS.get(e["verdict"], (e["verdict"], ""))
        ci = (
            "—"
            if e["rate_diff_low"] is None
            else f"[{pp(e['rate_diff_low'])}, {pp(e['rate_diff_high'])}]"
        )
        rci = (
            "—"
            if e["revenue_diff_low"] is None
            else f"{money(e['revenue_diff'])} "
            f"[{money(e['revenue_diff_low'])}, {money(e['revenue_diff_high'])}]"
        )
        tier = d.tier(e["tier_code"])
        rows.append(
            [
                escape(e["action_id"]),
                escape(tier.label),
                f"{escape(e['metric'])} {e['window_days']}d",
                f"{e['n_treatment']:,} / {e['n_holdout']:,}",
                f"{pct(e['rate_treatment'])} / {pct(e['rate_holdout'])}",
                f"{pp(e['rate_diff'])} {ci}",
                rci,
                f"<span class='{cls}'>{text}</span>",
                f"<small class=warn>{escape(e['warnings'] or '')}</small>",
            ]
        )
        if e["rate_diff"] is not None:
            forest.append(
                (
                    f"{e['action_id']} · {tier.name_en}",
                    e["rate_diff"],
                    e["rate_diff_low"],
                    e["rate_diff_high"],
                    e["verdict"] in ("uplift", "negative"),
                )
            )
    headers = [
        "动作 / action",
        "分层 / tier",
        "指标 窗口 / metric window",
        "人数 实验/对照 / n treatment/holdout",
        "转化率 / conversion",
        "差值 (95% CI) / difference",
        "人均收入差 (95% CI) / revenue per customer diff",
        "结论 / verdict",
        "提示 / warnings",
    ]
    chart = interval_chart(forest, "conversion difference with 95% CI") if forest else ""
    return title + _table(headers, rows, 3) + chart


def _files_section(d: ReportData) -> str:
    title = "<h2>下载 / Downloads (audience and CRM files)</h2>"
    if not d.files:
        return title + f"<p class=na>{NA}</p>"
    rows = [
        [
            f"<a href='{escape(f['path'])}'>{escape(f['path'])}</a>",
            escape(str(f.get("kind", ""))),
            escape(str(f.get("key", ""))),
            f"{int(f.get('rows', 0)):,}",
        ]
        for f in d.files
    ]
    return title + _table(["文件 / file", "类型 / kind", "键 / key", "行数 / rows"], rows, 3)


def _mode_note(d: ReportData) -> str:
    """Reduced mode says so at the top: which policy was replaced and which features were missing."""
    if not d.replaced_policy:
        return ""
    return (
        f"<p class=warn>简化模式 / reduced mode: {escape(d.replaced_policy)} → "
        f"{escape(d.policy_version or '—')}; 不可用特征 / unavailable features: "
        f"{escape(', '.join(d.unavailable_features) or '—')}</p>"
    )


def render_report(d: ReportData) -> str:
    cards = [
        ("客户数 / customers", f"{d.customers:,}"),
        ("分层数 / tiers", str(len(d.counts))),
        ("策略版本 / policy", escape(d.policy_version or "—")),
        ("文件 / files", str(len(d.files))),
    ]
    card_html = "".join(f"<div class=card>{k}<b>{v}</b></div>" for k, v in cards)
    body = (
        f"<h1>客户分层日报 / Tiering run report — {d.day.isoformat()}</h1>"
        "<p class=sub><a href='../index.html'>全部日期 / all run dates</a></p>"
        + _mode_note(d)
        + f"<div class=cards>{card_html}</div>"
        + _tiers_section(d)
        + _migration_section(d)
        + _checks_section(d)
        + _kpi_section(d)
        + _ab_section(d)
        + _files_section(d)
    )
    return _page(f"tierops {d.day.isoformat()}", body)


def write_report(day_dir: Path, data: ReportData) -> Path:
    path = day_dir / REPORT_FILE
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(render_report(data))
    return path


def write_index(outputs_dir: Path) -> Path:
    """outputs/index.html: every day that has a report, newest first, with its customer count."""
    rows = []
    for day_dir in sorted(outputs_dir.iterdir(), reverse=True):
        if not (day_dir / REPORT_FILE).is_file():
            continue
        manifest = day_dir / "manifest.json"
        customers, policy = "—", "—"
        if manifest.is_file():
            body = json.loads(manifest.read_text(encoding="utf-8"))
            customers = f"{body.get('customers', 0):,}"
            policy = escape(str(body.get("policy_version", "—")))
        name = escape(day_dir.name)
        rows.append([f"<a href='{name}/{REPORT_FILE}'>{name}</a>", customers, policy])
    body = (
        "<h1>客户分层日报 / Tiering run reports</h1>"
        + _table(["日期 / date", "客户数 / customers", "策略版本 / policy"], rows, 1)
        if rows
        else "<h1>客户分层日报 / Tiering run reports</h1><p class=na>—</p>"
    )
    path = outputs_dir / INDEX_FILE
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(_page("tierops reports", body))
    return path
