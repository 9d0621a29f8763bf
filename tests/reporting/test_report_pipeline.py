"""KPIs and the report page produced by the real pipeline on the small generated data set."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SMALL_END, SMALL_START
from tests.reporting.browser import Browser, find_chromium


@pytest.fixture(scope="module")
def warehouse_rows(backfilled):
    home, _ = backfilled
    con = duckdb.connect(str(home.warehouse), read_only=True)
    kpis = con.execute(
        "select tier_code, kpi, window_days, snapshot_date, numerator, denominator, value "
        "from tier_kpis where as_of_date = ?",
        [SMALL_END],
    ).fetchall()
    # independent path: a purchase in (S, D] shows as orders_30d > 0 on D
    s30 = SMALL_END - timedelta(days=30)
    repurchase = con.execute(
        "select s.tier_code, count(*) filter (where fs.orders_total > 0), "
        "count(*) filter (where fs.orders_total > 0 and fd.orders_30d > 0), "
        "count(*) filter (where fd.orders_30d > 0) "
        "from tier_assignments as s "
        "join customer_features as fs using (as_of_date, customer_id) "
        "join customer_features as fd on fd.customer_id = s.customer_id and fd.as_of_date = ? "
        "where s.as_of_date = ? and s.is_primary group by 1",
        [SMALL_END, s30],
    ).fetchall()
    days = con.execute(
        "select count(distinct as_of_date), min(as_of_date) from tier_kpis"
    ).fetchone()
    con.close()
    return home, kpis, repurchase, days


def test_kpis_cover_every_day_and_match_tier_counts(warehouse_rows):
    home, kpis, _, days = warehouse_rows
    assert days == ((SMALL_END - SMALL_START).days + 1, SMALL_START)
    manifest = json.loads(
        (home.outputs / SMALL_END.isoformat() / "manifest.json").read_text(encoding="utf-8")
    )
    customers = {t: (n, d, v) for t, k, _, _, n, d, v in kpis if k == "customers"}
    assert {t: int(n) for t, (n, _, _) in customers.items()} == manifest["tier_counts"]
    assert {int(d) for _, d, _ in customers.values()} == {manifest["customers"]}
    assert sum(v for _, _, v in customers.values()) == pytest.approx(1.0)


def test_repurchase_and_reactivation_match_feature_windows(warehouse_rows):
    _, kpis, repurchase, _ = warehouse_rows
    by_key = {(t, k, w): (s, n, d) for t, k, w, s, n, d, _ in kpis}
    for tier, base, repeaters, buyers in repurchase:
        snapshot, num, den = by_key[(tier, "repurchase_rate", 30)]
        assert snapshot == SMALL_END - timedelta(days=30)
        assert (num, den) == (repeaters, base), tier
        if tier in ("dormant", "churn_risk"):
            assert by_key[(tier, "reactivation_rate", 30)][1] == buyers, tier
        else:
            assert (tier, "reactivation_rate", 30) not in by_key
    assert any(n > 0 for t, k, w, s, n, d, v in kpis if k == "second_purchase_rate" and w == 90)
    assert not any(k == "renewal_rate" for _, k, *_ in kpis)  # retail preset: no renewals


# --- the report page ---------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src", "xlink:href", "action", "data"):
                self.refs.append((tag, name, value or ""))


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required under CI (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def report(backfilled):
    home, result = backfilled
    day_dir = home.outputs / SMALL_END.isoformat()
    mats = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key.to_user_string() == "run_report"
    ]
    return home, day_dir, day_dir / "report.html", mats[-1].materialization.metadata


def test_report_is_self_contained_and_links_every_file(report):
    home, day_dir, page, metadata = report
    assert metadata["report"].value == str(page)
    manifest = json.loads((day_dir / "manifest.json").read_text(encoding="utf-8"))
    assert metadata["customers"].value == manifest["customers"]
    assert metadata["files_linked"].value == len(manifest["files"]) > 0

    parsed = _parse(page)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert parsed.tags.count("svg") >= 3
    links = {value for tag, _, value in parsed.refs if tag == "a"}
    for value in links:
        assert not re.match(r"^[a-z]+:", value), value  # relative only: works from a file share
        assert (day_dir / value).resolve().is_file(), value
    assert {f["path"] for f in manifest["files"]} <= links
    text = page.read_text(encoding="utf-8")
    for f in manifest["files"]:
        assert (
            f">{f['path']}</a></td><td class=l>{f['kind']}</td><td class=l>{f['key']}</td>"
            f"<td>{f['rows']:,}</td>" in text
        )
    assert "tier_shares_vs_previous_day" in text  # check results from the run
    assert "<td class=l>this run</td>" in text
    drift = text[text.index("Drift checks on") : text.index("Latest check results")]
    assert "tier_shares_vs_previous_run" in drift and "rfm_shift" in drift  # drift_checks rows
    before = (SMALL_END - timedelta(days=30)).isoformat()
    assert f"rows: tier on {before}; columns: tier on {SMALL_END.isoformat()}" in text
    assert "复购率 30d" in text and "Repurchase rate 30d" in text
    assert metadata["experiments"].value > 0
    ab = text[text.index("A/B readouts") :]
    assert "95% CI" in ab and "nw_welcome" in ab
    assert "conversion difference with 95% CI" in text  # the forest plot

    index = home.outputs / "index.html"
    index_links = {v for tag, _, v in _parse(index).refs if tag == "a"}
    assert f"{SMALL_END.isoformat()}/report.html" in index_links


def test_report_renders_in_headless_chromium(report, tmp_path):
    home, _, page, _ = report
    browser = Browser(_chromium())
    try:
        browser.open(page.as_uri())
        sizes = browser.evaluate(
            "Array.from(document.querySelectorAll('svg.chart')).map(e => {"
            "const r = e.getBoundingClientRect(); return [e.getAttribute('aria-label'), "
            "r.width, r.height, e.querySelectorAll('rect,polyline,line,circle').length]})"
        )
        lines = browser.evaluate("document.querySelectorAll('svg.chart polyline').length")
        title = browser.evaluate("document.querySelector('h1').textContent")
        shot = tmp_path / "report.png"
        browser.screenshot(shot)
        problems = browser.problems()
        browser.open((home.outputs / "index.html").as_uri())
        index_links = browser.evaluate("document.querySelectorAll('a').length")
        problems += browser.problems()
    finally:
        browser.close()
    assert SMALL_END.isoformat() in title
    labels = {label for label, *_ in sizes}
    assert {
        "tier sizes",
        "tier share over time",
        "repurchase rate by tier",
        "conversion difference with 95% CI",
    } <= labels
    for label, width, height, marks in sizes:
        assert width > 100 and height > 30 and marks > 0, (label, width, height, marks)
    assert lines == 5  # one share line per tier
    assert index_links >= 1
    assert problems == []
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    print(f"screenshot: {shot}")


def test_browser_helper_reports_console_errors_and_broken_resources(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><img src='missing.png'><script>console.error('boom');"
        "undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    browser = Browser(_chromium())
    try:
        browser.open(bad.as_uri())
        problems = " | ".join(browser.problems())
    finally:
        browser.close()
    assert "console.error" in problems
    assert "undefinedFunction" in problems or "exception" in problems
    assert "missing.png" in problems


def test_experiment_log_counts_every_selected_customer_once(backfilled):
    from tierops.strategies.config import load_strategy

    home, _ = backfilled
    strategy = load_strategy(home.config_dir)
    windows = {
        a.id: a.success.window_days for plan in strategy.tiers.values() for a in plan.actions
    }
    con = duckdb.connect(str(home.warehouse), read_only=True)
    log = {
        r[0]: r[1:]
        for r in con.execute(
            "select action_id, n_treatment, n_holdout, verdict from experiment_log "
            "where as_of_date = ?",
            [SMALL_END],
        ).fetchall()
    }
    firsts = con.execute(
        "select action_id, customer_id, min(issued_date), "
        "min(contact_group) filter (where issued_date = (select min(issued_date) from "
        "contact_ledger as i where i.action_id = l.action_id and i.customer_id = l.customer_id)) "
        "from contact_ledger as l group by 1, 2"
    ).fetchall()
    logged_days = con.execute("select count(distinct as_of_date) from experiment_log").fetchone()
    con.close()
    expected: dict[str, list[int]] = {}
    for action, _, first, group in firsts:
        if first + timedelta(days=windows[action]) <= SMALL_END:
            counts = expected.setdefault(action, [0, 0])
            counts[0 if group == "treatment" else 1] += 1
    assert expected, "the strategy selected nobody on the small data set"
    assert {a: list(v[:2]) for a, v in log.items()} == expected
    assert all(
        v[2] in ("uplift", "negative", "no_difference", "inconclusive") for v in log.values()
    )
    assert logged_days[0] > 30  # the log accumulates one readout per day of the backfill
