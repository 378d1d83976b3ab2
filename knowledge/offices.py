"""Hunan's marriage registry offices: the data file's loader and lookups.

The file is checked completely at start-up: a typo in one office would otherwise surface as a
wrong slot list or a crash in the middle of a citizen's booking. Every error names the line and
the field at fault.
"""

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.loading import InService
from knowledge.normalize import normalize

UNVERIFIED = "待核实"

DEFAULT_PATH = Path(__file__).with_name("offices.yaml")

# Where Hunan ends, for messages that name another place: the other provincial-level divisions
# (民政部《中华人民共和国行政区划》; Hong Kong, Macao and Taiwan are overseas for donated materials, so
# not listed) and the cities outside Hunan people most often name. Left out: names that are also
# streets or words in Hunan (中山路, 吉祥).
OTHER_PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "武汉", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "内蒙古", "广西", "西藏", "宁夏", "新疆",
)  # fmt: skip
OTHER_CITIES = (
    "广州", "深圳", "东莞", "佛山", "珠海", "惠州", "汕头", "杭州", "宁波", "温州", "义乌", "南京", "苏州", "无锡",
    "成都", "西安", "郑州", "合肥", "南昌", "赣州", "九江", "萍乡", "福州", "厦门", "贵阳", "遵义", "昆明",
    "南宁", "桂林", "柳州", "海口", "三亚", "济南", "青岛", "大连", "沈阳", "长春", "哈尔滨", "石家庄",
    "太原", "呼和浩特", "兰州", "西宁", "银川", "乌鲁木齐", "拉萨", "宜昌", "荆州", "襄阳",
)  # fmt: skip

HUNAN_CITIES = (
    "长沙市",
    "株洲市",
    "湘潭市",
    "衡阳市",
    "邵阳市",
    "岳阳市",
    "常德市",
    "张家界市",
    "益阳市",
    "郴州市",
    "永州市",
    "怀化市",
    "娄底市",
    "湘西土家族苗族自治州",
)

# Hunan spans about 24.6–30.1 N and 108.8–114.3 E; a coordinate outside is a typo (or swapped).
LAT_RANGE = (24.6, 30.2)
LNG_RANGE = (108.7, 114.3)

EARTH_RADIUS_KM = 6371.0

# Short forms that are also everyday words ("绿色通道", "会同有关部门"): only the full name finds them.
_COMMON_WORDS = {"会同", "通道"}

_OFFICE_FIELDS = {"id", "name", "district", "lat", "lng", "hours", "slot_minutes", "capacity", "address", "phone"}
_DEFAULT_FIELDS = {"hours", "slot_minutes", "capacity"}
_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
# Hunan's autonomous prefecture and counties are named for these peoples: 城步苗族自治县 → 城步.
_ETHNIC_SUFFIX = re.compile(r"(?:(?:土家|苗|侗|瑶)族)+自治[州县]$")
_LINES = "__lines__"


@dataclass(frozen=True)
class Office:
    id: str  # short ASCII id, stable: used in URLs, QR scenes and booking records
    name: str  # 长沙市芙蓉区婚姻登记处
    city: str  # 长沙市
    district: str  # 芙蓉区 (the city-level office of a prefecture uses its own name here)
    lat: float
    lng: float
    hours: tuple[tuple[str, str], ...] = (("09:00", "11:30"), ("14:00", "17:00"))  # [start, end) pairs
    slot_minutes: int = 30
    capacity: int = 3  # couples per slot (epidemic mode keeps this small)
    address: str = UNVERIFIED
    phone: str = UNVERIFIED


class OfficeDataError(ValueError):
    """The offices file is wrong; start-up stops with this message (file, line, office, field)."""


class Registry:
    """The offices, in file order, with the lookups the chat and the API need."""

    def __init__(self, offices: Iterable[Office]):
        self._offices = tuple(offices)
        self._by_id = {office.id: office for office in self._offices}
        self._places, self._mentions = _place_names(self._offices)

    def all(self) -> tuple[Office, ...]:
        return self._offices

    def get(self, office_id: str) -> Office | None:
        return self._by_id.get(office_id)

    def cities(self) -> list[str]:
        return list(dict.fromkeys(office.city for office in self._offices))

    def in_city(self, city: str) -> list[Office]:
        return [office for office in self._offices if office.city == city]

    def find(self, text: str) -> list[Office]:
        """Offices whose district or city the text mentions: "芙蓉区", "长沙芙蓉", "長沙市", "湘西吉首".

        A district wins over its city ("长沙芙蓉" is one office); a city alone gives all its offices.
        """
        cities, districts = set(), []
        for match in self._mentions.finditer(normalize(text)):
            city, offices = self._places[match.group()]
            if city:
                cities.add(city)
            districts.extend(offices)
        if districts:
            narrowed = [office for office in districts if office.city in cities]
            return _in_file_order(narrowed or districts, self._offices)
        if not cities:
            return []  # most texts name no place: no pass over every office
        return [office for office in self._offices if office.city in cities]

    def outside_hunan(self, text: str) -> str | None:
        """The place outside Hunan the text names ("杭州的婚姻登记处", "我在深圳"), when it names no
        Hunan city or county too ("在深圳打工，户口在浏阳" is ours)."""
        words = normalize(text)
        named = next((place for place in (*OTHER_PROVINCES, *OTHER_CITIES) if place in words), None)
        return named if named and not self.find(words) else None

    def nearest(self, lat: float, lng: float, n: int = 3) -> list[tuple[Office, float]]:
        """The n offices closest to a point, with the great-circle distance in km."""
        ranked = sorted(
            ((office, haversine_km(lat, lng, office.lat, office.lng)) for office in self._offices),
            key=lambda pair: pair[1],
        )
        return ranked[:n]


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def load(path: str | Path | None = None) -> Registry:
    """Read and check the offices file; raise OfficeDataError naming the line and field at fault."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        root = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise OfficeDataError(f"{path}:{mark.line + 1}: not valid YAML: {err.problem}") from None
    except OSError as err:
        raise OfficeDataError(f"{path}: cannot read: {err.strerror}") from None
    return Registry(_Checker(path).offices(root))


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records, in each mapping, the line of every key (for error messages)."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=True)
        mapping[_LINES] = {key.value: key.start_mark.line + 1 for key, _ in node.value}
        mapping[_LINES][""] = node.start_mark.line + 1
        return mapping


class _Checker:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: dict, field: str, problem: str, office: str = "") -> None:
        line = where.get(_LINES, {}).get(field) or where.get(_LINES, {}).get("", "?")
        prefix = f"{self.path}:{line}: " + (f"office {office}: " if office else "")
        raise OfficeDataError(f"{prefix}{field}: {problem}" if field else f"{prefix}{problem}")

    def offices(self, root) -> list[Office]:
        if not isinstance(root, dict):
            raise OfficeDataError(f"{self.path}: expected a mapping with `defaults` and `cities`")
        self.unknown_fields(root, {"defaults", "cities"})
        defaults = root.get("defaults") or {}
        if not isinstance(defaults, dict):
            self.fail(root, "defaults", "expected a mapping")
        self.unknown_fields(defaults, _DEFAULT_FIELDS)
        base = {"hours": Office.hours, "slot_minutes": Office.slot_minutes, "capacity": Office.capacity}
        base.update({field: self.setting(defaults, field, "") for field in _DEFAULT_FIELDS if field in defaults})
        self.check_slots_fit(defaults, base, "")

        cities = root.get("cities")
        if not isinstance(cities, list) or not cities:
            self.fail(root, "cities", "expected a non-empty list of {city, offices}")
        offices, seen_cities, ids, names = [], set(), {}, {}
        for index, entry in enumerate(cities):
            if not isinstance(entry, dict):
                raise OfficeDataError(f"{self.path}: cities[{index}]: expected a mapping with `city` and `offices`")
            self.unknown_fields(entry, {"city", "offices"})
            city = entry.get("city")
            if city not in HUNAN_CITIES:
                self.fail(entry, "city", f"{city!r} is not one of Hunan's 14 cities/prefectures")
            if city in seen_cities:
                self.fail(entry, "city", f"{city} is listed twice")
            seen_cities.add(city)
            listed = entry.get("offices")
            if not isinstance(listed, list) or not listed:
                self.fail(entry, "offices", f"{city} needs a non-empty list of offices")
            for position, raw in enumerate(listed):
                if not isinstance(raw, dict):
                    self.fail(entry, "offices", f"entry {position} is not a mapping")
                office = self.office(raw, city, base, f"{city}[{position}]")
                if office.id in ids:
                    self.fail(raw, "id", f"{office.id} is already used at line {ids[office.id]}", office.id)
                if office.name in names:
                    self.fail(raw, "name", f"{office.name} is already used at line {names[office.name]}", office.id)
                ids[office.id] = names[office.name] = raw[_LINES][""]
                offices.append(office)
        return offices

    def office(self, raw: dict, city: str, base: dict, position: str) -> Office:
        office_id = raw.get("id")
        label = office_id if isinstance(office_id, str) else position
        self.unknown_fields(raw, _OFFICE_FIELDS, label)
        for field in ("id", "district", "lat", "lng"):
            if field not in raw:
                self.fail(raw, "", f"{field} is missing", label)
        if not isinstance(office_id, str) or not _ID.fullmatch(office_id) or len(office_id) > 40:
            self.fail(raw, "id", f"{office_id!r} must be lower-case ASCII words joined by '-'", label)
        district = raw["district"]
        if not isinstance(district, str) or not district.endswith(("区", "县", "市")):
            self.fail(raw, "district", f"{district!r} must be a district, county or county-level city name", label)
        for field, (low, high) in (("lat", LAT_RANGE), ("lng", LNG_RANGE)):
            value = raw[field]
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail(raw, field, f"{value!r} is not a number", label)
            if not low <= value <= high:
                self.fail(raw, field, f"{value} is outside Hunan ({low}–{high})", label)
        for field in ("name", "address", "phone"):
            if field in raw and (not isinstance(raw[field], str) or not raw[field].strip()):
                self.fail(raw, field, "must be non-empty text", label)
        settings = dict(base)
        settings.update({field: self.setting(raw, field, label) for field in _DEFAULT_FIELDS if field in raw})
        self.check_slots_fit(raw, settings, label)
        return Office(
            id=office_id,
            name=raw.get("name") or office_name(city, district),
            city=city,
            district=district,
            lat=float(raw["lat"]),
            lng=float(raw["lng"]),
            address=raw.get("address", UNVERIFIED),
            phone=raw.get("phone", UNVERIFIED),
            **settings,
        )

    def setting(self, where: dict, field: str, label: str):
        value = where[field]
        if field == "hours":
            return self.hours(where, value, label)
        low = {"slot_minutes": 5, "capacity": 1}[field]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(where, field, f"{value!r} must be a whole number ≥ {low}", label)
        return value

    def hours(self, where: dict, value, label: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, list) or not value:
            self.fail(where, "hours", 'expected a list of ["HH:MM", "HH:MM"] ranges', label)
        ranges, previous_end = [], ""
        for pair in value:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
                self.fail(where, "hours", f'{pair!r} is not a ["HH:MM", "HH:MM"] range', label)
            start, end = pair
            for moment in (start, end):
                if not _HHMM.fullmatch(moment):
                    self.fail(where, "hours", f"{moment!r} is not a time in HH:MM (00:00–23:59)", label)
            if start >= end:
                self.fail(where, "hours", f"{start}–{end}: the start must be before the end", label)
            if start < previous_end:
                self.fail(where, "hours", f"{start}–{end} overlaps or precedes the range before it", label)
            previous_end = end
            ranges.append((start, end))
        return tuple(ranges)

    def check_slots_fit(self, where: dict, settings: dict, label: str) -> None:
        for start, end in settings["hours"]:
            if (_minutes(end) - _minutes(start)) % settings["slot_minutes"]:
                field = "slot_minutes" if "slot_minutes" in where else "hours"
                self.fail(where, field, f"{settings['slot_minutes']}-minute slots do not fit {start}–{end}", label)

    def unknown_fields(self, where: dict, allowed: set[str], label: str = "") -> None:
        for field in where:
            if field != _LINES and field not in allowed:
                self.fail(where, field, f"unknown field (expected one of {', '.join(sorted(allowed))})", label)


def office_name(city: str, district: str) -> str:
    """The official-style name: districts and autonomous-prefecture counties carry their city's name."""
    prefixed = district.endswith("区") or city.endswith("自治州")
    return f"{city if prefixed else ''}{district}婚姻登记处"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _short_name(name: str) -> str:
    """长沙市 → 长沙, 芙蓉区 → 芙蓉, 城步苗族自治县 → 城步, 湘西土家族苗族自治州 → 湘西."""
    stripped = _ETHNIC_SUFFIX.sub("", name)
    if stripped != name:
        return stripped
    return name[:-1] if name.endswith(("市", "区", "县")) else name


def _place_names(offices: tuple[Office, ...]) -> tuple[dict[str, tuple[str | None, tuple[Office, ...]]], re.Pattern]:
    """Every way a citizen names a place → (city, offices of the district), and one pattern finding them.

    Full names always count. A short name counts unless it is a city's (长沙 means the city, not
    长沙县), a single character (南县, 道县) or an everyday word.
    """
    city_names = {}
    for city in dict.fromkeys(office.city for office in offices):
        short = _short_name(city)
        city_names.update({city: city, short: city})
        if city.endswith("自治州"):
            city_names[short + "州"] = city  # 湘西州
    district_names: dict[str, tuple[Office, ...]] = {}
    for office in offices:
        short = _short_name(office.district)
        aliases = [office.district]
        if len(short) >= 2 and short not in _COMMON_WORDS:
            aliases.append(short)
        for alias in aliases:
            if alias not in city_names:
                district_names[alias] = district_names.get(alias, ()) + (office,)
    places = {alias: (city, ()) for alias, city in city_names.items()}
    places.update({alias: (None, found) for alias, found in district_names.items()})
    pattern = re.compile("|".join(re.escape(alias) for alias in sorted(places, key=len, reverse=True)))
    return places, pattern


def _in_file_order(chosen: list[Office], offices: tuple[Office, ...]) -> list[Office]:
    wanted = {office.id for office in chosen}
    return [office for office in offices if office.id in wanted]


# The registry from the shipped file, loaded once per process.
current = InService(load).current
