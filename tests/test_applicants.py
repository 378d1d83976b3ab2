"""Who may register: the answers a couple gets when they type their names and ID numbers."""

from datetime import date

import pytest

from bot.bookings import applicants, idcard

ON = date(2026, 12, 1)


def make_id(birth: str, sex: str, region: str = "430102", serial: str = "12") -> str:
    """A made-up number with a correct check character (odd 17th digit = man, even = woman)."""
    first17 = region + birth + serial + ("3" if sex == "男" else "4")
    return first17 + idcard.check_character(first17)


HIM = make_id("19950615", "男")
HER = make_id("19970320", "女")


def couple(first=("张三", HIM), second=("李四", HER)):
    return [{"name": first[0], "id_number": first[1]}, {"name": second[0], "id_number": second[1]}]


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def test_a_valid_couple_may_register():
    assert applicants.check_couple(couple(), ON) == {}


def test_birth_date_and_sex_are_read_from_the_number():
    assert idcard.parse(HIM) == idcard.IdInfo(birth=date(1995, 6, 15), sex="男")
    assert idcard.parse(HER) == idcard.IdInfo(birth=date(1997, 3, 20), sex="女")


def test_a_mistyped_last_digit_is_reported_for_the_right_person():
    errors = applicants.check_couple(couple(second=("李四", wrong_check(HER))), ON)
    assert errors == {"applicants[1].id_number": "第二位申请人的身份证号校验位不对，请核对最后一位"}


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("43010219950615123", "身份证号应为18位，现在是17位"),
        ("430102950615123", "身份证号是15位的旧号码，请填写身份证上的18位号码"),
        ("43010219950615A234", "身份证号前17位应全是数字，最后一位是数字或X"),
        ("", "身份证号没有填写"),
    ],
)
def test_malformed_numbers_say_what_is_wrong(number, reason):
    with pytest.raises(idcard.InvalidIdNumber, match=reason):
        idcard.parse(number)


def test_an_impossible_birth_date_or_region_is_named():
    first17 = "430102" + "19950230" + "123"
    with pytest.raises(idcard.InvalidIdNumber, match="出生日期不对"):
        idcard.parse(first17 + idcard.check_character(first17))
    first17 = "990102" + "19950615" + "123"
    with pytest.raises(idcard.InvalidIdNumber, match="地区码不对"):
        idcard.parse(first17 + idcard.check_character(first17))


def test_a_man_under_22_on_the_registration_day_is_told_the_legal_age():
    young_man = make_id("20050101", "男")
    errors = applicants.check_couple(couple(first=("王五", young_man)), ON)
    assert errors == {"applicants[0].id_number": "第一位申请人登记当天未满22周岁（男方法定婚龄）"}


def test_a_woman_under_20_on_the_registration_day_is_told_the_legal_age():
    young_woman = make_id("20070101", "女")
    errors = applicants.check_couple(couple(second=("赵六", young_woman)), ON)
    assert errors == {"applicants[1].id_number": "第二位申请人登记当天未满20周岁（女方法定婚龄）"}


def test_the_legal_age_counts_from_the_day_after_the_birthday():
    man = make_id("20041201", "男")  # 22nd birthday on ON
    assert "applicants[0].id_number" in applicants.check_couple(couple(first=("王五", man)), ON)
    assert applicants.check_couple(couple(first=("王五", man)), date(2026, 12, 2)) == {}
    leap_day = date(2004, 2, 29)
    assert applicants.age_reached_on(leap_day, 22) == date(2026, 3, 1)


def test_the_same_person_twice_is_refused():
    errors = applicants.check_couple(couple(second=("张三", HIM)), ON)
    assert errors == {"applicants[1].id_number": "两位申请人的身份证号相同，请填写另一位申请人的身份证号"}


def test_two_people_of_the_same_sex_get_a_polite_explanation():
    errors = applicants.check_couple(couple(second=("李四", make_id("19960101", "男"))), ON)
    assert list(errors) == ["applicants"]
    assert "男女双方" in errors["applicants"]


def test_names_are_checked_with_a_reason():
    errors = applicants.check_couple(couple(first=("张", HIM), second=("李四4", HER)), ON)
    assert errors == {
        "applicants[0].name": "第一位申请人的姓名至少要2个字",
        "applicants[1].name": "第二位申请人的姓名只能是汉字（少数民族姓名可用间隔号·），或英文字母和空格",
    }
    assert applicants.validate_name("  阿依古丽・买买提 ") == "阿依古丽·买买提"
    assert applicants.validate_name("John  O'Brien") == "John O'Brien"
    with pytest.raises(applicants.InvalidName, match="最多20个字"):
        applicants.validate_name("欧" * 21)


def test_one_applicant_is_not_enough():
    assert applicants.check_couple(couple()[:1], ON) == {"applicants": "需要两位申请人（男女双方）的姓名和身份证号"}


def test_traditional_names_and_full_width_numbers_are_understood():
    full_width_him = HIM.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert applicants.validate_name("張三") == "张三"
    assert applicants.check_couple(couple(first=("張三", full_width_him)), ON) == {}


def test_a_lower_case_x_is_accepted():
    for serial in range(10, 100):
        number = make_id("19950615", "男", serial=str(serial))
        if number.endswith("X"):
            break
    assert number.endswith("X")
    assert idcard.parse(number.lower()).sex == "男"
    assert idcard.canonical(number.lower()) == number


def test_numbers_are_masked_to_the_last_four_only():
    number = make_id("19950615", "男")
    assert idcard.mask(number) == "**************" + number[-4:]
    assert idcard.mask(" " + number.lower() + " ") == idcard.mask(number)
    assert idcard.mask("123") == "***"


def test_the_keyed_hash_recognises_the_same_number_in_any_form_and_depends_on_the_key():
    number = make_id("19950615", "男")
    key = b"k" * 32
    digest = idcard.keyed_hash(number, key)
    assert len(digest) == 64 and number not in digest
    assert idcard.keyed_hash(number.translate(str.maketrans("0123456789", "０１２３４５６７８９")), key) == digest
    assert idcard.keyed_hash(number, b"other key") != digest


@pytest.mark.parametrize(
    "digits",
    ["٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "⁰¹²³⁴⁵⁶⁷⁸⁹", "⓪①②③④⑤⑥⑦⑧⑨"],
    ids=["arabic-indic", "persian", "devanagari", "superscript", "circled"],
)
def test_digits_of_other_scripts_are_refused_with_a_clear_message(digits):
    """They used to pass `\\d`: the same person could book twice, and two people shared one hash."""
    number = make_id("19950615", "男")
    foreign = number[:-1].translate(str.maketrans("0123456789", digits)) + number[-1]
    with pytest.raises(idcard.InvalidIdNumber, match="请用数字0–9（半角或全角均可）和X填写"):
        idcard.parse(foreign)


def test_two_different_numbers_never_share_a_hash_whatever_digits_they_are_typed_in():
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    first = make_id("19950615", "男")
    second = next(n for s in range(10, 99) if (n := make_id("19970320", "女", serial=str(s)))[-1] == first[-1])
    hashes = {idcard.keyed_hash(n.translate(arabic), b"k" * 32) for n in (first, second)}
    assert len(hashes) == 2


def test_full_width_digits_are_read_as_the_same_number():
    number = make_id("19950615", "女")
    full_width = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    assert idcard.parse(full_width) == idcard.parse(number)
    assert idcard.canonical(full_width) == number


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("下周五去岳麓区 我叫张伟 身份证430102199506151236", ["张伟"]),
        ("女方是王芳，男方叫陈强", ["王芳", "陈强"]),
        ("我是来预约的", []),
        ("她是湘潭的", []),
    ],
)
def test_names_introduced_in_a_message_are_found_and_nothing_else(text, names):
    assert applicants.introduced_names(text) == names


def test_the_words_introducing_a_name_are_not_part_of_it():
    assert applicants.without_introduction("我叫欧阳娜娜") == "欧阳娜娜"
    assert applicants.without_introduction("姓名：张三") == "张三"
    assert applicants.without_introduction("张三") == "张三"


@pytest.mark.parametrize("text", ["候补", "马上", "好的", "算了"])
def test_everyday_words_do_not_read_as_a_name(text):
    assert applicants.reads_as_words(text)


@pytest.mark.parametrize("text", ["欧阳娜娜", "高峰", "扎西", "李娜", "Tom Lee"])
def test_real_names_do_not_read_as_everyday_words(text):
    assert not applicants.reads_as_words(text)
