"""Administrative regions (省/市/区县) recognised offline with cpca's bundled code table."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.intake._text import halfwidth

_SKIP = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
# A short place name directly followed by one of these is a street name (南京路), not a region.
_STREET_AFTER = re.compile(r"^(?:路|街|大街|大道|巷|弄|道|桥|胡同|里|广场|站)")
_ADMIN_SUFFIX = re.compile(r"(省|市|自治区|特别行政区|自治州|地区|盟|区|县|旗)$")


@dataclass(frozen=True)
class Region:
    province: str
    city: str
    district: str

    @property
    def text(self) -> str:
        return "".join(p for p in (self.province, self.city, self.district) if p and p not in _SKIP)


@lru_cache(maxsize=1)
def _cpca() -> Any:
    import cpca  # loads its code table on first use (about a second)

    return cpca


@lru_cache(maxsize=1)
def _district_name_counts() -> Counter[str]:
    cpca = _cpca()
    counts: Counter[str] = Counter()
    for info in cpca.ad_2_addr_dict.values():
        if info.rank == 2:
            counts[info.name] += 1
    return counts


@lru_cache(maxsize=512)
def _transform(text: str) -> dict[str, Any]:
    frame = _cpca().transform([text], pos_sensitive=True)
    row = frame.iloc[0].to_dict()
    return {k: (None if v is None or v != v else v) for k, v in row.items()}


def _short(name: str) -> str:
    short = _ADMIN_SUFFIX.sub("", name)
    return short if len(short) >= 2 else name


def _is_street_name(text: str, name: str, pos: int) -> bool:
    """True when the matched place name is only the first part of a street name (南京路)."""
    if text.startswith(name, pos):
        return False
    after = text[pos + len(_short(name)):]
    return bool(_STREET_AFTER.match(after))


def _analyse(text: str) -> tuple[Region, str] | None:
    clean = halfwidth(text or "").strip()
    if not clean:
        return None
    row = _transform(clean)
    province, city, district = row.get("省"), row.get("市"), row.get("区")
    if not province:
        return None
    positions = {"省": row.get("省_pos", -1), "市": row.get("市_pos", -1), "区": row.get("区_pos", -1)}
    for key, name in (("省", province), ("市", city), ("区", district)):
        pos = positions[key]
        if name and pos is not None and pos >= 0 and _is_street_name(clean, str(name), int(pos)):
            return None
    only_district = positions["省"] in (None, -1) and positions["市"] in (None, -1)
    if district and only_district and _district_name_counts()[str(district)] > 1:
        return None  # e.g. 西湖区 exists in Hangzhou and in Nanchang: do not guess
    if city in _SKIP and not district and positions["省"] in (None, -1):
        return None  # cpca matched the bare word 县 or 市辖区, not a place
    region = Region(str(province), str(city or ""), str(district or ""))
    return region, str(row.get("地址") or "").strip()


def parse_region(text: str) -> Region | None:
    """Province / city / district named in the text, or None when not even a province is recognised."""
    analysed = _analyse(text)
    return analysed[0] if analysed else None


def normalize_address(text: str) -> str:
    """Province + city + district + the remaining detail when recognisable, else the stripped text."""
    stripped = (text or "").strip()
    analysed = _analyse(stripped)
    if analysed is None:
        return stripped
    region, detail = analysed
    return region.text + detail
