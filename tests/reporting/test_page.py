"""The report page renders missing inputs as "not available" and escapes what it shows."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

from tierops.reporting.page import (
    NA,
    CheckResult,
    ReportData,
    TierInfo,
    render_report,
    write_index,
    write_report,
)

DAY = date(2025, 6, 30)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_first_day_without_history_shows_not_available_everywhere():
    data = ReportData(
        day=DAY,
        policy_version="v1",
        tiers=[TierInfo("new", "新客", "New")],
        counts={"new": 3},
        trend={},
    )
    html = render_report(data)
    # trend, migration, drift, latest checks, KPIs, A/B and downloads: nothing to show yet
    assert html.count(NA) == 7
    assert "renewal rate: not applicable" not in html  # no KPI table at all
    parser = _Tags()
    parser.feed(html)
    assert "script" not in parser.tags
    assert parser.tags.count("svg") == 1  # only the tier-size bars


def test_untrusted_text_is_escaped_and_failed_checks_come_first(tmp_path):
    data = ReportData(
        day=DAY,
        policy_version="<b>v1</b>",
        tiers=[TierInfo("vip", "<script>alert(1)</script>", "VIP & co")],
        counts={"vip": 2},
        trend={"vip": [(date(2025, 6, 29), 1.0), (DAY, 1.0)]},
        checks=[
            CheckResult("tier_assignments", "ok_check", True, "WARN", "fine"),
            CheckResult("tier_drift", "rfm_shift", False, "ERROR", "PSI 0.4 > 0.25"),
        ],
        drift=[],
        experiments=[],
        files=[
            {"path": "audiences/tier_vip.csv", "rows": 2, "kind": "tier_audience", "key": "vip"}
        ],
    )
    html = render_report(data)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "VIP &amp; co" in html and "&lt;b&gt;v1&lt;/b&gt;" in html
    assert html.index("rfm_shift") < html.index("<details>") < html.index("ok_check")
    assert "1 项未通过 / failed, 1 项通过 / passed, 0 项未执行 / not run" in html
    assert "no experiment readouts for this day" in html

    day_dir = tmp_path / DAY.isoformat()
    write_report(day_dir, data)
    (tmp_path / "2025-06-29").mkdir()  # a day without a report is not listed
    index = write_index(tmp_path).read_text(encoding="utf-8")
    assert "2025-06-30/report.html" in index and "2025-06-29" not in index
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temporary files
