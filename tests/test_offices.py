"""The registry offices file: every city present, mistakes caught at start-up, offices found by name or place."""

import textwrap

import pytest

from knowledge import offices


@pytest.fixture(scope="module")
def registry():
    return offices.load()


def write(tmp_path, body: str):
    path = tmp_path / "offices.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


GOOD = """\
    defaults:
      hours: [["09:00", "11:30"], ["14:00", "17:00"]]
      slot_minutes: 30
      capacity: 3
    cities:
      - city: 长沙市
        offices:
          - {id: changsha-furong, district: 芙蓉区, lat: 28.19, lng: 113.03}
          - id: changsha-liuyang
            district: 浏阳市
            lat: 28.16
            lng: 113.64
            capacity: 2
"""


def test_every_city_and_prefecture_of_hunan_has_offices(registry):
    assert registry.cities() == list(offices.HUNAN_CITIES)
    assert all(registry.in_city(city) for city in offices.HUNAN_CITIES)
    assert len(registry.all()) == 122  # Hunan's county-level divisions


def test_offices_are_named_after_the_administrative_divisions(registry):
    assert registry.get("changsha-furong").name == "长沙市芙蓉区婚姻登记处"
    assert registry.get("changsha-changshaxian").name == "长沙县婚姻登记处"
    assert registry.get("changsha-liuyang").name == "浏阳市婚姻登记处"
    assert registry.get("xiangxi-jishou").name == "湘西土家族苗族自治州吉首市婚姻登记处"


def test_unchecked_contact_details_are_marked_for_verification(registry):
    office = registry.get("changsha-furong")
    assert (office.address, office.phone) == (offices.UNVERIFIED, offices.UNVERIFIED)
    assert (office.hours, office.slot_minutes, office.capacity) == ((("09:00", "11:30"), ("14:00", "17:00")), 30, 3)


def test_a_good_file_loads_with_its_overrides(tmp_path):
    registry = offices.load(write(tmp_path, GOOD))
    assert [office.id for office in registry.all()] == ["changsha-furong", "changsha-liuyang"]
    assert registry.get("changsha-liuyang").capacity == 2
    assert registry.get("nowhere") is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("lat: 28.19", "lat: 38.19", r":8: office changsha-furong: lat: 38.19 is outside Hunan"),
        ("lng: 113.64", "lng: east", r":12: office changsha-liuyang: lng: 'east' is not a number"),
        ('"11:30"], ["14:00"', '"11:70"], ["14:00"', r":2: hours: '11:70' is not a time"),
        ('["14:00", "17:00"]', '["17:00", "14:00"]', r":2: hours: 17:00–14:00: the start must be before the end"),
        ("slot_minutes: 30", "slot_minutes: 40", r":3: slot_minutes: 40-minute slots do not fit 09:00–11:30"),
        ("capacity: 2", "capacity: 0", r":13: office changsha-liuyang: capacity: 0 must be a whole number ≥ 1"),
        ("id: changsha-liuyang", "id: changsha-furong", r":9: office changsha-furong: id: changsha-furong is already"),
        ("id: changsha-liuyang", "id: Changsha Liuyang", r":9: office Changsha Liuyang: id: 'Changsha Liuyang' must"),
        ("city: 长沙市", "city: 广州市", r":6: city: '广州市' is not one of Hunan's 14"),
        ("capacity: 2", "capacty: 2", r":13: office changsha-liuyang: capacty: unknown field"),
        ("\n            lat: 28.16", "", r":9: office changsha-liuyang: lat is missing"),
        ("{id: changsha-furong,", "{id: changsha-furong", r":8: not valid YAML"),
    ],
)
def test_a_bad_file_stops_start_up_naming_the_line_and_field(tmp_path, old, new, expected):
    assert old in GOOD
    with pytest.raises(offices.OfficeDataError, match=expected):
        offices.load(write(tmp_path, GOOD.replace(old, new, 1)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("芙蓉区", ["changsha-furong"]),
        ("长沙芙蓉", ["changsha-furong"]),
        ("在芙蓉区登记", ["changsha-furong"]),
        ("下周三上午在芙蓉区登记结婚", ["changsha-furong"]),
        ("湘西吉首", ["xiangxi-jishou"]),
        ("长沙县", ["changsha-changshaxian"]),
        ("浏阳", ["changsha-liuyang"]),
        ("城步", ["shaoyang-chengbu"]),
        ("武陵源", ["zhangjiajie-wulingyuan"]),
        ("常德武陵区", ["changde-wuling"]),
        ("我想预约结婚登记", []),
    ],
)
def test_offices_are_found_by_the_place_a_citizen_mentions(registry, text, expected):
    assert [office.id for office in registry.find(text)] == expected


def test_a_city_alone_gives_all_its_offices_in_simplified_or_traditional(registry):
    assert registry.find("長沙市") == registry.in_city("长沙市")
    assert len(registry.find("长沙")) == 9
    assert registry.find("湘西州") == registry.in_city("湘西土家族苗族自治州")


def test_everyday_words_are_not_mistaken_for_counties(registry):
    assert registry.find("有没有绿色通道") == []
    assert [office.id for office in registry.find("通道侗族自治县")] == ["huaihua-tongdao"]


def test_a_location_in_guangzhou_gets_the_nearest_offices_across_the_border_in_chenzhou(registry):
    nearest = registry.nearest(23.13, 113.35)
    assert [office.city for office, _ in nearest] == ["郴州市"] * 3
    distances = [km for _, km in nearest]
    assert distances == sorted(distances)
    assert 200 < distances[0] < 300


def test_a_location_in_changsha_city_centre_gets_changsha_offices(registry):
    office, km = registry.nearest(28.19, 113.03, n=1)[0]
    assert (office.id, km) == ("changsha-furong", 0.0)
