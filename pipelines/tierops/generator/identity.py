"""Each person's identifiers, computed from the person's index instead of stored.

Every identifier is a bijective function of the index (an affine permutation or a 64-bit mixer), so
no two persons ever share one by accident and a million persons need no identifier table in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierops.generator.text import compose, concat, decimal_text, digit_rows, pick, where

PHONE_PREFIXES: tuple[int, ...] = (
    *range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, 166, 176, 177, 178,
    *range(180, 190), 198, 199,
)  # fmt: skip
# Junk a cashier types when the customer gives no phone. Persons' suffixes are >= 10**7, so these
# (suffix 0 and 0021xxxx) can never be a real person's phone.
SHARED_PHONE = 13_800_000_000
STORE_PHONE_BASE = 13_800_210_000
PHONE_SUFFIXES = 9 * 10**7

EMAIL_NAMES: tuple[str, ...] = (
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou",
    "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao", "amy", "leo", "coco", "jack",
)  # fmt: skip
EMAIL_DOMAINS: tuple[str, ...] = (
    "qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com", "foxmail.com",
)  # fmt: skip

# Phone styles people type: 13812345678, +86 138 1234 5678, 138-1234-5678.
PHONE_STYLE_WEIGHTS = (0.6, 0.2, 0.2)
# Email noise: as is, UPPER CASE, padded with spaces.
EMAIL_NOISE_WEIGHTS = (0.88, 0.08, 0.04)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class IdentityKeys:
    """Per-seed constants, so different seeds give different (but equally unique) identifiers."""

    phone_step: int
    phone_shift: int
    number_step: int
    number_shift: int
    salt: int

    @classmethod
    def from_rng(cls, rng: np.random.Generator) -> IdentityKeys:
        def coprime(modulus: int) -> int:
            step = int(rng.integers(modulus // 3, modulus))
            while math.gcd(step, modulus) != 1:
                step += 1
            return step

        return cls(
            phone_step=coprime(PHONE_SUFFIXES),
            phone_shift=int(rng.integers(PHONE_SUFFIXES)),
            number_step=coprime(10**9),
            number_shift=int(rng.integers(10**9)),
            salt=int(rng.integers(2**62)),
        )

    def mixed(self, idx: np.ndarray, lane: int) -> np.ndarray:
        """A 64-bit value per person and lane; distinct persons never collide within a lane."""
        x = np.asarray(idx, np.uint64) ^ np.uint64(
            (self.salt ^ (lane * 0x5851F42D4C957F2D)) & (2**64 - 1)
        )
        return _splitmix(x)

    def number(self, idx: np.ndarray, lane: int) -> np.ndarray:
        """A distinct 9-digit number per person and lane."""
        shift = (self.number_shift + lane * 104_729) % 10**9
        return (np.asarray(idx, np.int64) * self.number_step + shift) % 10**9


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijection on 64-bit integers that scrambles every bit."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def person_id(idx: np.ndarray) -> pa.StringArray:
    return compose(len(idx), [b"P", (np.asarray(idx) + 1, 8)])


def phone_number(keys: IdentityKeys, idx: np.ndarray) -> np.ndarray:
    """11-digit mobile numbers as integers."""
    idx = np.asarray(idx, np.int64)
    prefixes = np.asarray(PHONE_PREFIXES, np.int64)
    prefix = prefixes[(keys.mixed(idx, 1) % np.uint64(len(prefixes))).astype(np.int64)]
    suffix = 10**7 + (idx * keys.phone_step + keys.phone_shift) % PHONE_SUFFIXES
    return prefix * 10**8 + suffix


def phone_text(numbers: np.ndarray) -> pa.StringArray:
    return compose(len(numbers), [(numbers, 11)])


def styled_phone(numbers: np.ndarray, style: np.ndarray) -> pa.Array:
    """Phones as people type them: style 0 plain, 1 `+86 138 1234 5678`, 2 `138-1234-5678`."""
    n = len(numbers)
    head, mid, tail = numbers // 10**8, numbers // 10**4 % 10**4, numbers % 10**4
    spaced = compose(n, [b"+86 ", (head, 3), b" ", (mid, 4), b" ", (tail, 4)])
    dashed = compose(n, [(head, 3), b"-", (mid, 4), b"-", (tail, 4)])
    return pc.choose(pa.array(style, pa.int8()), phone_text(numbers), spaced, dashed)


def email(keys: IdentityKeys, idx: np.ndarray) -> pa.Array:
    """Canonical (lower-case, trimmed) addresses such as `wang482133771@qq.com`."""
    mixed = keys.mixed(idx, 2)
    name = pick(EMAIL_NAMES, mixed % np.uint64(len(EMAIL_NAMES)))
    domain = pick(EMAIL_DOMAINS, (mixed >> np.uint64(32)) % np.uint64(len(EMAIL_DOMAINS)))
    return concat(name, decimal_text(keys.number(idx, 2)), "@", domain)


def noisy_email(addresses: pa.Array, noise: np.ndarray) -> pa.Array:
    """Noise 0 keeps the address, 1 upper-cases it, 2 pads it with spaces."""
    upper = where(noise == 1, pc.utf8_upper(addresses), addresses)
    return where(noise == 2, concat(" ", addresses, "  "), upper)


def member_id(keys: IdentityKeys, idx: np.ndarray) -> pa.StringArray:
    return compose(len(idx), [b"VIP", (keys.number(idx, 3), 9)])


def buyer_id(keys: IdentityKeys, idx: np.ndarray) -> pa.StringArray:
    return compose(len(idx), [b"tb", (keys.number(idx, 4), 9)])


def openid(keys: IdentityKeys, idx: np.ndarray) -> pa.StringArray:
    return _hex_id(keys, idx, b"o", 5)


def unionid(keys: IdentityKeys, idx: np.ndarray) -> pa.StringArray:
    return _hex_id(keys, idx, b"u", 7)


def _hex_id(keys: IdentityKeys, idx: np.ndarray, prefix: bytes, lane: int) -> pa.StringArray:
    """28-character WeChat-style ids: a prefix letter and 27 hex digits."""
    first = digit_rows(keys.mixed(idx, lane), 16, base=16)
    second = digit_rows(keys.mixed(idx, lane + 1), 11, base=16)
    return compose(len(idx), [prefix, first, second])


def device_id(keys: IdentityKeys, idx: np.ndarray, slot: np.ndarray) -> pa.StringArray:
    """UUID-shaped device ids; `slot` (0 or 1) tells a person's two devices apart."""
    key = np.asarray(idx, np.int64) * 2 + np.asarray(slot, np.int64)
    hi = digit_rows(keys.mixed(key, 9), 16, base=16)
    lo = digit_rows(keys.mixed(key, 10), 16, base=16)
    parts = [hi[:8], b"-", hi[8:12], b"-", hi[12:], b"-", lo[:4], b"-", lo[4:]]
    return compose(len(key), parts)


@dataclass(frozen=True)
class IdentityBook:
    """Every person's identifier texts, built once per run on first use, so feeds only gather.

    `device_id` holds two entries per person: index `2 * person + slot`.
    """

    keys: IdentityKeys
    size: int
    _texts: dict[str, pa.Array] = field(default_factory=dict)

    def texts(self, id_type: str) -> pa.Array:
        if id_type not in self._texts:
            self._texts[id_type] = self._build(id_type)
        return self._texts[id_type]

    def take(self, id_type: str, index: np.ndarray, shown: np.ndarray | None = None) -> pa.Array:
        """Texts at `index`; null where `shown` is False (an empty CSV field)."""
        mask = None if shown is None else ~np.asarray(shown, bool)
        return self.texts(id_type).take(pa.array(np.asarray(index, np.int64), mask=mask))

    def _build(self, id_type: str) -> pa.Array:
        persons = np.arange(self.size)
        if id_type == "device_id":
            return device_id(self.keys, np.repeat(persons, 2), np.tile([0, 1], self.size))
        if id_type == "phone":
            return phone_text(phone_number(self.keys, persons))
        builders = {
            "email": email,
            "openid": openid,
            "unionid": unionid,
            "member_id": member_id,
            "buyer_id": buyer_id,
        }
        return builders[id_type](self.keys, persons)
