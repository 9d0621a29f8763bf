"""The demo generator against its contract (docs/landing-spec.md) and its intended behaviour."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierops.generator import GeneratorConfig, Promotion, generate
from tierops.generator.badrows import BAD_TIMESTAMP
from tierops.generator.config import default_promotions
from tierops.generator.identity import SHARED_PHONE, STORE_PHONE_BASE
from tierops.generator.timeline import promotion_factor

START, DAYS = date(2025, 5, 20), 60  # covers the whole of 618 (June 1-18)
SMALL = GeneratorConfig(
    customers=300, start=START, end=START + timedelta(days=DAYS - 1), seed=11, bad_row_rate=0.02
)

# Columns exactly as docs/landing-spec.md lists them.
WEB_COLUMNS = [
    "order_no", "line_no", "created_at", "customer_email", "customer_phone", "sku", "category",
    "qty", "unit_price", "line_total", "order_status", "refund_amount",
]  # fmt: skip
POS_COLUMNS = [
    "门店编号", "小票号", "行号", "交易时间", "会员手机号", "会员卡号", "商品品类", "数量", "金额",
    "交易类型", "退款金额",
]  # fmt: skip
TRACKING_COLUMNS = [
    "event_id", "event_time", "event_name", "platform", "device_id", "member_id", "openid",
    "category",
]  # fmt: skip
CRM_COLUMNS = [
    "member_id", "mobile", "email", "unionid", "level", "birthday", "registered_at", "sms_opt_in",
    "email_opt_in", "wechat_opt_in", "push_opt_in", "updated_at",
]  # fmt: skip
MINI_KEYS = [
    "out_trade_no", "openid", "unionid", "phone", "pay_time", "status", "total_fee", "refund_fee",
    "items",
]  # fmt: skip
MINI_ITEM_KEYS = ["sku", "category", "num", "fee"]
MARKETPLACE_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("sub_order_id", pa.string()),
        ("buyer_id", pa.string()),
        ("receiver_phone", pa.string()),
        ("pay_time", pa.timestamp("ms", tz="UTC")),
        ("item_category", pa.string()),
        ("quantity", pa.int32()),
        ("payment_fen", pa.int64()),
        ("trade_status", pa.string()),
        ("refund_fee_fen", pa.int64()),
    ]
)
# A year of a larger population for behaviour that needs volume (promotions, latent types).
YEAR = GeneratorConfig(customers=2000, start=date(2024, 9, 1), end=date(2025, 8, 31), seed=5)
ORDER_FEEDS = ("web", "miniprogram", "pos", "marketplace")
FILE_NAMES = {
    "web": "web/orders_{:%Y%m%d}.csv",
    "miniprogram": "miniprogram/orders_{:%Y-%m-%d}.jsonl",
    "pos": "pos/POS_{:%Y%m%d}.csv",
    "marketplace": "marketplace/tmall_orders_{:%Y-%m-%d}.parquet",
    "tracking": "tracking/events_{:%Y-%m-%d}.csv",
    "crm": "crm/members_{:%Y-%m-%d}.csv",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    summary = generate(SMALL, root / "landing", root / "truth")
    return summary, root


@pytest.fixture(scope="module")
def landing(run) -> Path:
    return run[1] / "landing"


@pytest.fixture(scope="module")
def frames(landing) -> dict[str, pd.DataFrame]:
    return read_feeds(landing, SMALL)


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    """Order feeds of a year, with the truth about persons and identifiers."""
    root = tmp_path_factory.mktemp("year")
    generate(YEAR, root / "landing", root / "truth")
    return (
        read_feeds(root / "landing", YEAR, ORDER_FEEDS),
        pd.read_parquet(root / "truth" / "persons.parquet"),
        pd.read_parquet(root / "truth" / "identifiers.parquet"),
    )


@pytest.fixture(scope="module")
def persons(run) -> pd.DataFrame:
    return pd.read_parquet(run[1] / "truth" / "persons.parquet")


@pytest.fixture(scope="module")
def identifiers(run) -> pd.DataFrame:
    return pd.read_parquet(run[1] / "truth" / "identifiers.parquet")


def days_of(config: GeneratorConfig) -> list[date]:
    return [config.start + timedelta(days=i) for i in range(config.days)]


def read_csv(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)


def read_feeds(
    landing: Path, config: GeneratorConfig, feeds: tuple[str, ...] = tuple(FILE_NAMES)
) -> dict[str, pd.DataFrame]:
    """Every row of the given feeds, with the business day of the file it came from."""
    parts = defaultdict(list)
    for day in days_of(config):
        for feed in feeds:
            path = landing / FILE_NAMES[feed].format(day)
            if feed == "miniprogram":
                lines = path.read_text(encoding="utf-8").splitlines()
                frame = pd.DataFrame([json.loads(line) for line in lines])
            elif feed == "marketplace":
                frame = pd.read_parquet(path)
            else:
                frame = read_csv(path, "gbk" if feed == "pos" else "utf-8")
            parts[feed].append(frame.assign(day=day))
    return {feed: pd.concat(frames, ignore_index=True) for feed, frames in parts.items()}


def canonical_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def is_junk_phone(phone: str) -> bool:
    return phone == str(SHARED_PHONE) or phone.startswith(str(STORE_PHONE_BASE)[:7])


def row_identifiers(frames: dict[str, pd.DataFrame]) -> list[set[tuple[str, str]]]:
    """Canonical identifiers that occur together in one landing row (junk phones left out)."""
    columns = {
        "web": {"customer_email": "email", "customer_phone": "phone"},
        "miniprogram": {"openid": "openid", "unionid": "unionid", "phone": "phone"},
        "pos": {"会员手机号": "phone", "会员卡号": "member_id"},
        "marketplace": {"buyer_id": "buyer_id", "receiver_phone": "phone"},
        "tracking": {"device_id": "device_id", "member_id": "member_id", "openid": "openid"},
        "crm": {
            "member_id": "member_id",
            "mobile": "phone",
            "email": "email",
            "unionid": "unionid",
        },
    }
    rows = []
    for feed, mapping in columns.items():
        frame = frames[feed][list(mapping)].fillna("")
        for values in frame.itertuples(index=False):
            found = set()
            for id_type, value in zip(mapping.values(), values, strict=True):
                if not value:
                    continue
                if id_type == "phone":
                    value = canonical_phone(value)
                    if is_junk_phone(value):
                        continue
                elif id_type == "email":
                    value = value.strip().lower()
                found.add((id_type, value))
            rows.append(found)
    return rows


def orders_per_day(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """Distinct orders per business day across the four order feeds."""
    keys = {
        "web": "order_no",
        "miniprogram": "out_trade_no",
        "pos": "小票号",
        "marketplace": "order_id",
    }
    counts = [frames[feed].groupby("day")[key].nunique() for feed, key in keys.items()]
    return pd.concat(counts, axis=1).fillna(0).sum(axis=1)


def test_same_config_gives_byte_identical_files(run, tmp_path):
    summary, first = run
    generate(SMALL, tmp_path / "landing", tmp_path / "truth")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    again = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files == again
    assert len(files) == summary.files + 3  # plus persons, identifiers, bad_rows
    changed = [f for f in files if (first / f).read_bytes() != (tmp_path / f).read_bytes()]
    assert changed == []


def test_another_seed_gives_other_data(run, tmp_path):
    other = GeneratorConfig(customers=300, start=START, end=SMALL.end, seed=12, bad_row_rate=0.02)
    generate(other, tmp_path / "landing", tmp_path / "truth")
    name = FILE_NAMES["web"].format(date(2025, 6, 18))
    assert (tmp_path / "landing" / name).read_bytes() != (run[1] / "landing" / name).read_bytes()


def test_every_feed_has_a_file_for_every_day_and_nothing_else(run, landing):
    summary, _ = run
    expected = {name.format(day) for name in FILE_NAMES.values() for day in days_of(SMALL)}
    written = {str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file()}
    assert written == expected
    assert summary.files == len(expected) == 6 * DAYS


def test_pos_is_gbk_encoded_with_chinese_header(landing):
    data = (landing / FILE_NAMES["pos"].format(date(2025, 6, 18))).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("gbk")
    assert text.splitlines()[0] == ",".join(POS_COLUMNS)
    assert "销售" in text


def test_csv_columns_match_the_spec_on_busy_and_empty_days(landing):
    expected = {
        "web": WEB_COLUMNS,
        "pos": POS_COLUMNS,
        "tracking": TRACKING_COLUMNS,
        "crm": CRM_COLUMNS,
    }
    for feed, columns in expected.items():
        encoding = "gbk" if feed == "pos" else "utf-8"
        for day in days_of(SMALL):
            raw = (landing / FILE_NAMES[feed].format(day)).read_bytes()
            assert b"\r" not in raw
            assert raw.decode(encoding).split("\n")[0] == ",".join(columns), (feed, day)


def test_crm_initial_load_and_empty_days(landing):
    first = read_csv(landing / FILE_NAMES["crm"].format(START))
    quiet = [read_csv(landing / FILE_NAMES["crm"].format(day)) for day in days_of(SMALL)[1:]]
    assert len(first) > max(len(frame) for frame in quiet)  # members from before the range
    assert (first.registered_at < f"{START}").any()


def test_jsonl_and_parquet_layouts_match_the_spec(landing, frames):
    mini = frames["miniprogram"]
    files = [landing / FILE_NAMES["miniprogram"].format(day) for day in days_of(SMALL)]
    records = [json.loads(line) for f in files for line in f.read_text("utf-8").splitlines()]
    assert len(records) == len(mini) > 0
    assert all(list(record) == MINI_KEYS for record in records)
    assert all(list(item) == MINI_ITEM_KEYS for r in records for item in r["items"])
    paid = mini[mini.status == "SUCCESS"]
    totals = paid["items"].map(lambda items: sum(i["fee"] for i in items))
    assert ((paid.total_fee == totals) | (paid.total_fee < 0)).all()
    for day in days_of(SMALL):
        assert pq.read_schema(
            landing / FILE_NAMES["marketplace"].format(day)
        ).remove_metadata() == (MARKETPLACE_SCHEMA)
    sizes = [(landing / FILE_NAMES["miniprogram"].format(d)).stat().st_size for d in days_of(SMALL)]
    assert min(sizes) == 0 < max(sizes)  # a day without mini-program orders is an empty file


def test_rows_belong_to_the_business_day_of_their_file(frames):
    web = frames["web"][frames["web"].created_at != BAD_TIMESTAMP]
    local = pd.to_datetime(web.created_at, format="ISO8601").dt.tz_convert("Asia/Shanghai")
    assert (local.dt.date == web.day).all()
    events = frames["tracking"][frames["tracking"].event_time != BAD_TIMESTAMP]
    local = pd.to_datetime(events.event_time, format="ISO8601").dt.tz_convert("Asia/Shanghai")
    assert (local.dt.date == events.day).all()
    market = frames["marketplace"]
    assert (market.pay_time.dt.tz_convert("Asia/Shanghai").dt.date == market.day).all()


def test_statuses_use_each_feeds_vocabulary_and_refunds_equal_line_amounts(frames):
    web = frames["web"]
    assert set(web.order_status) == {"PAID", "CANCELLED", "REFUNDED"}
    refunded = web.order_status == "REFUNDED"
    assert (web.refund_amount[refunded] == web.line_total[refunded]).all()
    assert (web.refund_amount[~refunded] == "0.00").all()
    assert set(frames["pos"]["交易类型"]) == {"销售", "退货", "作废"}
    assert set(frames["marketplace"].trade_status) <= {"TRADE_FINISHED", "TRADE_CLOSED", "REFUNDED"}
    assert set(frames["miniprogram"].status) <= {"SUCCESS", "REFUND", "CLOSED"}


def test_about_three_percent_cancelled_and_five_percent_refunded(year):
    orders = year[0]["web"].drop_duplicates("order_no")
    share = orders.order_status.value_counts(normalize=True)
    assert 0.02 < share["CANCELLED"] < 0.04 and 0.04 < share["REFUNDED"] < 0.06


def spoiled_rows(frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Rows a reader would reject, found by looking at the data rather than at the truth."""
    web, mini, pos, market, events = (
        frames[f] for f in ("web", "miniprogram", "pos", "marketplace", "tracking")
    )
    return {
        "web": int(
            (
                (web.order_no == "")
                | (web.created_at == BAD_TIMESTAMP)
                | web.line_total.str.startswith("-")
            ).sum()
        ),
        "miniprogram": int(
            (
                (mini.out_trade_no == "") | (mini.pay_time == BAD_TIMESTAMP) | (mini.total_fee < 0)
            ).sum()
        ),
        "pos": int(
            (
                (pos["小票号"] == "")
                | (pos["交易时间"] == BAD_TIMESTAMP)
                | pos["金额"].str.startswith("-")
            ).sum()
        ),
        "marketplace": int(((market.order_id == "") | (market.payment_fen < 0)).sum()),
        "tracking": int(((events.event_id == "") | (events.event_time == BAD_TIMESTAMP)).sum()),
    }


def test_injected_bad_rows_are_counted_and_present(run, frames):
    summary, root = run
    assert set(summary.bad_rows) == {"web", "miniprogram", "pos", "marketplace", "tracking"}
    assert min(summary.bad_rows.values()) >= 1
    assert spoiled_rows(frames) == summary.bad_rows
    truth = pd.read_parquet(root / "truth" / "bad_rows.parquet")
    assert truth.groupby("feed").size().to_dict() == summary.bad_rows
    row = truth[truth.kind == "bad_timestamp"].iloc[0]
    text = (root / "landing" / row.file).read_text(encoding="gbk" if row.feed == "pos" else "utf-8")
    assert BAD_TIMESTAMP in text.splitlines()[row.source_row - (row.feed == "miniprogram")]


def test_no_bad_rows_without_a_rate(tmp_path):
    clean = GeneratorConfig(
        customers=100, start=START, end=START + timedelta(days=9), bad_row_rate=0
    )
    summary = generate(clean, tmp_path / "landing", tmp_path / "truth")
    assert summary.bad_rows == dict.fromkeys(summary.bad_rows, 0)
    assert spoiled_rows(read_feeds(tmp_path / "landing", clean)) == summary.bad_rows


def test_truth_covers_every_person_with_canonical_identifiers(persons, identifiers):
    assert len(persons) == SMALL.customers == persons.person_id.nunique()
    assert persons.latent_type.value_counts().to_dict() == {
        "regular": 90, "dormant": 60, "frequent_small_basket": 45, "fading": 45, "new": 30,
        "loyal_big_spender": 15, "one_time": 15,
    }  # fmt: skip
    first = pd.to_datetime(persons.first_active_date).dt.date
    assert first.between(SMALL.start, SMALL.end).all()
    new_first = first[persons.latent_type == "new"]
    assert new_first.min() >= SMALL.end - timedelta(days=DAYS // 4)
    assert set(identifiers.person_id) <= set(persons.person_id)
    assert not identifiers.duplicated(["id_type", "id_value"]).any()  # no identifier is shared
    phones = identifiers.id_value[identifiers.id_type == "phone"]
    assert phones.str.fullmatch(r"1\d{10}").all()
    assert not phones.map(is_junk_phone).any()
    emails = identifiers.id_value[identifiers.id_type == "email"]
    assert (emails == emails.str.strip().str.lower()).all() and emails.str.contains("@").all()
    assert set(identifiers.id_type) == {
        "phone", "email", "openid", "unionid", "member_id", "buyer_id", "device_id",
    }  # fmt: skip


def test_noise_is_present_where_the_spec_puts_it(frames):
    web, crm, pos = frames["web"], frames["crm"], frames["pos"]
    for phones in (web.customer_phone, crm.mobile):
        assert (
            phones.str.startswith("+86 ").any() and phones.str.fullmatch(r"\d{3}-\d{4}-\d{4}").any()
        )
    emails = web.customer_email
    assert (emails != emails.str.lower()).any() and (emails != emails.str.strip()).any()
    assert pos["会员手机号"].map(is_junk_phone).any()


def test_truth_identifiers_are_exactly_those_in_the_landing_files(frames, identifiers):
    seen = set().union(*row_identifiers(frames))
    truth = set(zip(identifiers.id_type, identifiers.id_value, strict=True))
    assert seen == truth


def test_linking_rows_never_glues_two_persons_but_leaves_some_split(frames, identifiers, persons):
    owner = {(t, v): p for p, t, v in identifiers.itertuples(index=False)}
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ids in row_identifiers(frames):
        ids = list(ids)
        for other in ids[1:]:
            parent[find(ids[0])] = find(other)
    components = defaultdict(set)
    for key, person in owner.items():
        components[find(key)].add(person)
    assert max(len(p) for p in components.values()) == 1  # without junk phones nobody is glued
    per_person = pd.Series([next(iter(p)) for p in components.values()]).value_counts()
    assert len(per_person) > 0.9 * len(persons)  # the rest only shop anonymously in stores
    assert (per_person > 1).sum() > 0  # some persons never link their channels
    assert (per_person == 1).mean() > 0.5  # but most do


def test_promotion_days_have_markedly_more_orders(year):
    daily = orders_per_day(year[0])
    may = daily[[date(2025, 5, d) for d in range(1, 32)]].mean()  # no promotion, no new persons
    # expected about x2 on the final three days of 618 and x1.4 over its first fifteen
    assert daily[[date(2025, 6, d) for d in (16, 17, 18)]].mean() > 1.7 * may
    assert daily[[date(2025, 6, d) for d in range(1, 16)]].mean() > 1.25 * may
    october = daily[[date(2024, 10, d) for d in range(1, 32)]].mean()
    assert daily[date(2024, 11, 11)] > 2 * october


def test_extra_promotions_multiply_on_top(tmp_path):
    promo = Promotion("price_change", date(2025, 3, 15), 14, 2.0)
    config = GeneratorConfig(
        customers=1000,
        start=date(2025, 3, 1),
        end=date(2025, 4, 11),
        promotions=(),
        extra_promotions=(promo,),
        bad_row_rate=0,
    )
    generate(config, tmp_path / "landing", tmp_path / "truth")
    daily = orders_per_day(read_feeds(tmp_path / "landing", config, ORDER_FEEDS))
    inside = daily[[d for d in daily.index if promo.start <= d <= promo.end]].mean()
    after = daily[[d for d in daily.index if d > promo.end]].mean()
    assert 1.5 < inside / after < 2.6


def test_default_calendar_ramps_to_about_three_on_peak_days():
    promos = default_promotions(date(2024, 9, 1), date(2025, 11, 30))
    assert {p.name for p in promos} == {
        "618", "618_final", "618_peak", "double11", "double11_final", "double11_peak",
    }  # fmt: skip
    config = GeneratorConfig(start=date(2024, 9, 1), end=date(2025, 11, 30))
    factor = pd.Series(promotion_factor(config), index=days_of(config))
    assert factor[date(2024, 11, 11)] == pytest.approx(3.045)
    assert factor[date(2025, 6, 18)] == pytest.approx(3.045)
    assert factor[date(2025, 6, 10)] == pytest.approx(1.4)
    assert factor[date(2025, 6, 19)] == factor[date(2025, 3, 3)] == 1.0


def spend_by_person(frames: dict[str, pd.DataFrame], identifiers: pd.DataFrame) -> pd.Series:
    """Yuan per person over every order row that names a known identifier."""
    owner = {(t, v): p for p, t, v in identifiers.itertuples(index=False)}
    web, mini, pos, market = (frames[f] for f in ("web", "miniprogram", "pos", "marketplace"))
    rows = [
        (
            web.customer_email.str.strip().str.lower().map(lambda v: owner.get(("email", v))),
            web.line_total.astype(float),
        ),
        (mini.openid.map(lambda v: owner.get(("openid", v))), mini.total_fee / 100),
        (
            pos["会员卡号"]
            .map(lambda v: owner.get(("member_id", v)))
            .fillna(pos["会员手机号"].map(lambda v: owner.get(("phone", v)))),
            pos["金额"].astype(float),
        ),
        (market.buyer_id.map(lambda v: owner.get(("buyer_id", v))), market.payment_fen / 100),
    ]
    spend = pd.concat(
        [pd.Series(amount.to_numpy(), index=person.to_numpy()) for person, amount in rows]
    )
    return spend.groupby(level=0).sum()


def test_latent_types_order_spend(year):
    frames, persons, identifiers = year
    spend = spend_by_person(frames, identifiers).reindex(persons.person_id, fill_value=0)
    per_type = spend.groupby(persons.set_index("person_id").latent_type).mean()
    assert per_type["loyal_big_spender"] > 2 * per_type["regular"]
    assert per_type["regular"] > per_type["dormant"]
    assert per_type["frequent_small_basket"] > per_type["one_time"]


def test_unknown_industry_is_rejected():
    with pytest.raises(ValueError, match="unknown industry 'content'; known: retail, saas"):
        GeneratorConfig(industry="content")
