"""Donation guidance as a citizen experiences it, and the signed list staff maintain behind it."""

import logging
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from bot.messages import CLICK, TEXT, Inbound, Session
from handlers import donation
from knowledge import charity
from tests.test_applicants import make_id

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = charity.DEFAULT_FILE
ANNOUNCEMENT = "http://mzt.hunan.gov.cn/"
CITIES = ["长沙", "株洲", "湘潭", "衡阳", "邵阳", "岳阳", "常德", "张家界", "益阳", "郴州", "永州", "怀化", "娄底"]
FEDERATIONS = {city: f"{city}市慈善总会" for city in CITIES} | {"湘西": "湘西土家族苗族自治州慈善总会"}


@pytest.fixture(scope="module")
def department(tmp_path_factory) -> tuple[Path, Path]:
    """The department's keypair (made for the tests: the repository ships none)."""
    return charity.keygen(tmp_path_factory.mktemp("department"))


@pytest.fixture(autouse=True)
def signed_by_the_department(department, tmp_path):
    """Every test starts on the shipped list as the department would deploy it: signed with its
    key, and that key configured. Afterwards the bot is back on what ships (no key: unverified)."""
    private_key, public_key = department
    path = tmp_path / "deployed" / "charity.yaml"
    path.parent.mkdir()
    shutil.copy(SHIPPED, path)
    charity.sign(path, private_key)
    charity.use_public_key(public_key)
    charity.reload(path)
    yield path
    charity.use_public_key()
    charity.reload()


class Citizen:
    """One person chatting: the first message opens the donation dialogue, later ones answer it."""

    def __init__(self):
        self.session = Session("o_donor")

    def message(self, text: str, kind: str = TEXT) -> Inbound:
        return Inbound("o_donor", kind, datetime(2020, 2, 5, 10, tzinfo=UTC), text=text)

    def say(self, text: str) -> str:
        message = self.message(text)
        if self.session.flow == donation.FLOW:
            reply = donation.continue_flow(message, self.session)
        else:
            reply = donation.start(message, self.session)
        return check(reply)

    def click(self, label: str) -> str:
        # The router hands a menu click over with the button's words as the text.
        return check(donation.start(self.message(label, kind=CLICK), self.session))


def check(reply) -> str:
    """Rules for every answer: ends with the anti-fraud line, fits one WeChat message."""
    assert reply is not None
    assert len(reply.content.encode("utf-8")) <= 2048
    assert reply.content.endswith(donation.ANTI_FRAUD)
    return reply.content


def signed_copy(tmp_path: Path, edit=None) -> tuple[Path, Path]:
    """A copy of the shipped list, optionally edited, signed with a fresh test key."""
    doc = yaml.safe_load(SHIPPED.read_bytes())
    if edit:
        edit(doc)
    path = tmp_path / "charity.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    private_key, public_key = charity.keygen(tmp_path / "keys")
    charity.sign(path, private_key)
    return path, public_key


def federation(doc: dict, id: str) -> dict:
    return next(f for f in doc["federations"] if f["id"] == id)


# ---- money or materials, which city, from abroad -------------------------------------------------


def test_i_want_to_donate_money_is_asked_which_city_then_given_that_citys_federation():
    citizen = Citizen()
    question = citizen.say("我想捐款")
    assert "哪个市州" in question
    assert "境外" not in question  # money from anywhere goes the same way; only materials care

    answer = citizen.say("长沙")
    assert "长沙市慈善总会" in answer
    assert "轻松筹" in answer and "众志成城共抗疫情" in answer and "腾讯公益、支付宝公益" in answer
    assert citizen.session.flow is None


@pytest.mark.parametrize("city", FEDERATIONS)
def test_each_city_gets_its_own_federation_and_no_account_until_confirmed(city):
    answer = Citizen().say(f"我在{city}想捐款")
    assert FEDERATIONS[city] in answer
    assert "银行账户正在核实" in answer and f"见湖南省民政厅官网公告 {ANNOUNCEMENT}" in answer
    assert "咨询电话正在核实" in answer
    assert not re.search(r"\d{6,}", answer)  # no account number anywhere


def test_naming_a_city_is_answered_with_its_federation_in_the_same_reply():
    answer = Citizen().say("我在长沙想捐")
    assert "捐款，还是捐物资" not in answer
    assert "【捐款和物资】" in answer and answer.count("长沙市慈善总会") == 1
    assert "众志成城共抗疫情" in answer and "寄送物资前请先与接收单位联系" in answer


def test_materials_donor_is_asked_the_city_or_whether_it_comes_from_abroad():
    citizen = Citizen()
    question = citizen.say("捐物资")
    assert "哪个市州" in question and "境外" in question
    answer = citizen.say("株洲")
    assert "株洲市慈善总会" in answer
    assert "境外" not in answer and "湖南省慈善总会" not in answer


def test_overseas_masks_go_to_the_provincial_federation_at_once():
    answer = Citizen().say("海外寄口罩怎么捐")
    assert "湖南省慈善总会" in answer
    assert "当天接收、当天发出" in answer
    assert "市慈善总会" not in answer


@pytest.mark.parametrize("text", ["我在美国，想给岳阳捐口罩", "从香港寄防护服到长沙", "境外物资捐给湘西"])
def test_overseas_materials_go_to_the_province_whatever_city_is_named(text):
    answer = Citizen().say(text)
    assert "境外（含港澳台）捐赠物资由湖南省慈善总会统一接收" in answer and "以民政厅最新公告为准" in answer
    assert not any(name in answer for name in FEDERATIONS.values())


def test_materials_donor_who_answers_abroad_gets_the_province():
    citizen = Citizen()
    citizen.say("捐物资")
    answer = citizen.say("境外")
    assert "湖南省慈善总会" in answer and "当天接收、当天发出" in answer
    assert "不在湖南省14个市州" not in answer


def test_overseas_money_can_still_go_to_a_city():
    citizen = Citizen()
    citizen.say("我在海外，想捐款")
    assert "郴州市慈善总会" in citizen.say("郴州")


def test_a_place_outside_hunan_is_told_this_account_serves_hunan_and_pointed_to_official_channels():
    citizen = Citizen()
    citizen.say("我想捐款")
    answer = citizen.say("武汉")
    assert answer.startswith("本号服务湖南省内的爱心捐赠") and "官方渠道" in answer
    assert "慈善总会" not in answer, "no Hunan account for giving elsewhere"
    assert citizen.session.flow is None


def test_a_town_not_among_the_14_cities_is_pointed_to_the_provincial_federation():
    citizen = Citizen()
    citizen.say("我想捐款")
    answer = citizen.say("黄花镇")
    assert "不在湖南省14个市州" in answer and "湖南省慈善总会" in answer


@pytest.mark.parametrize("reply", ["全省", "不限", "都行"])
def test_no_particular_city_means_the_provincial_federation(reply):
    citizen = Citizen()
    citizen.say("我想捐款")
    answer = citizen.say(reply)
    assert "湖南省慈善总会" in answer and "不在湖南省14个市州" not in answer


@pytest.mark.parametrize(
    "text, federation_name",
    [
        ("我在長沙想捐款", "长沙市慈善总会"),
        ("海外寄口罩怎麼捐贈", "湖南省慈善总会"),
        ("想給湘西州捐錢", "湘西土家族苗族自治州慈善总会"),
    ],
)
def test_traditional_characters_are_understood(text, federation_name):
    assert federation_name in Citizen().say(text)


def test_menu_buttons_open_the_dialogue_with_what_the_button_says():
    assert "捐款，还是捐物资" in Citizen().click("爱心捐赠")
    assert "哪个市州" in Citizen().click("我要捐款")
    materials = Citizen().click("捐赠物资")
    assert "哪个市州" in materials and "境外" in materials


def test_an_unrelated_question_mid_dialogue_is_left_to_the_router_and_the_question_comes_back():
    citizen = Citizen()
    asked = citizen.say("爱心捐赠")
    for question in ("结婚登记要带什么材料", "口罩怎么戴"):
        assert donation.continue_flow(citizen.message(question), citizen.session) is None
    assert citizen.session.flow == donation.FLOW
    assert donation.resume_prompt(citizen.session) in asked
    assert "长沙市慈善总会" in citizen.say("口罩怎么捐到长沙")


@pytest.mark.parametrize("text", ["我想捐款", "捐物资", "愛心捐贈", "怎么捐口罩", "善款捐到哪里"])
def test_donation_words_are_recognised(text):
    assert donation.matches(text)


@pytest.mark.parametrize("text", ["口罩怎么戴", "预约结婚登记", "你好"])
def test_other_questions_are_not_taken_for_donations(text):
    assert not donation.matches(text)


# ---- anti-fraud ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "6222 0212 3456 7890 123",
        "帮我看看这个账号对不对：6222-0212-3456-7890",
        "６２２２０２１２３４５６７８９０",  # full-width digits
        "捐款请转账给我",
        "把收款码发我",
        "工作人员让我发付款码",
        "430102199506150013",  # 18 digits that fail the ID checksum: a card number
        "钱转到他的个人账户",
        "对方叫我扫这个二维码",
    ],
)
def test_account_numbers_and_payment_requests_get_a_warning_without_the_number(text):
    assert donation.looks_like_payment(text)
    warning = check(donation.payment_warning(Citizen().message(text), Session("o_donor")))
    assert "当心诈骗" in warning and "110" in warning
    assert not re.search(r"\d{4}", warning.replace("110", ""))


@pytest.mark.parametrize(
    "text",
    [
        "我想捐款",
        "咨询电话0731-84567890",
        "我的手机13812345678",
        "2020年2月3日",
        make_id("19950615", "男"),  # a valid ID number is applicant data, never an account
        f"张三 {make_id('19970320', '女')}",
        "捐款可以转账吗",  # a donor asking how to give, not someone asking for a transfer
    ],
)
def test_ordinary_numbers_are_not_taken_for_accounts(text):
    assert not donation.looks_like_payment(text)


def test_an_account_number_typed_mid_dialogue_is_never_echoed():
    citizen = Citizen()
    citizen.say("我想捐款")
    answer = citizen.say("是不是打到 6217 0000 1111 2222 这个卡号")
    assert "当心诈骗" in answer and "6217" not in answer and "2222" not in answer
    assert citizen.session.flow == donation.FLOW  # the question still stands


def test_a_payment_request_in_the_first_message_gets_the_warning_not_a_channel():
    answer = Citizen().say("捐款转到6222021234567890123就行")
    assert "当心诈骗" in answer and "慈善总会" not in answer


# ---- volunteering ----------------------------------------------------------------------------------


def test_volunteers_learn_how_to_join_and_what_others_have_done():
    answer = check(donation.volunteer(Citizen().message("我想当志愿者"), Session("o_donor")))
    assert "乡镇（街道）社会工作服务站" in answer
    assert "1933个" in answer and "4000余名" in answer
    assert "3403名社会工作者" in answer and "9.3万名志愿者" in answer


# ---- the signed list ------------------------------------------------------------------------------


def test_the_shipped_list_carries_no_signature_or_key_and_invents_no_account_or_phone():
    assert not charity.signature_path(SHIPPED).exists()
    assert not list(SHIPPED.parent.glob("*.pub")) and not list(SHIPPED.parent.glob("*.key"))
    charities = charity.current()
    assert charities.verified
    assert charities.provincial.name == "湖南省慈善总会"
    assert {f.name for f in charities.cities} == set(FEDERATIONS.values())
    for entry in charities.federations:
        assert (entry.account.name, entry.account.bank, entry.account.number, entry.phone) == ("待核实",) * 4
        assert not entry.account.confirmed
    assert [f.name for f in charities.federations if charity.OVERSEAS_MATERIALS in f.accepts] == ["湖南省慈善总会"]


def tampered(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "charity.yaml"
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_by_default_the_list_awaits_the_departments_confirmation_and_claims_no_authority(caplog):
    charity.use_public_key()
    with caplog.at_level(logging.WARNING, logger="knowledge.charity"):
        charities = charity.reload()
    assert not charities.verified
    assert "no department key" in caplog.text and "ALARM" not in caplog.text
    citizen = Citizen()
    answer = citizen.say("我在长沙想捐款")
    assert "等待湖南省民政厅确认" in answer and ANNOUNCEMENT in answer
    assert "来源：湖南省民政厅" not in answer and "慈善总会" not in answer
    volunteering = check(donation.volunteer(citizen.message("志愿者"), citizen.session))
    assert "等待湖南省民政厅确认" in volunteering and "来源：湖南省民政厅" not in volunteering


def test_only_the_department_signed_list_is_credited_to_the_department():
    answer = Citizen().say("我在长沙想捐款")
    assert "来源：湖南省民政厅" in answer and "长沙市慈善总会" in answer


def test_the_online_project_is_named_only_on_its_own_platform():
    answer = Citizen().say("我想在网上捐款给全省")
    assert "在轻松筹上是“众志成城共抗疫情”项目" in answer
    assert "在腾讯公益、支付宝公益上请找湖南省的疫情防控募捐项目" in answer
    assert "2月3日发布" not in answer and "2020年2月3日" not in answer


def test_one_changed_digit_turns_channel_answers_off_and_raises_an_alarm(
    tmp_path, caplog, department, signed_by_the_department
):
    path = tampered(tmp_path, "stations: 1933", "stations: 1934")
    shutil.copy(charity.signature_path(signed_by_the_department), charity.signature_path(path))
    with caplog.at_level(logging.ERROR, logger="knowledge.charity"):
        charities = charity.reload(path, department[1])
    assert not charities.verified
    assert any("ALARM" in r.getMessage() and "does not match" in r.getMessage() for r in caplog.records)

    citizen = Citizen()
    answer = citizen.say("我在长沙想捐款")
    assert "请以官方公告为准" in answer and ANNOUNCEMENT in answer
    assert "慈善总会" not in answer and citizen.session.flow is None
    assert "请以官方公告为准" in check(donation.volunteer(citizen.message("志愿者"), citizen.session))


def test_a_missing_signature_turns_channel_answers_off_and_raises_an_alarm(tmp_path, caplog, department):
    path = tmp_path / "charity.yaml"
    shutil.copy(SHIPPED, path)
    with caplog.at_level(logging.ERROR, logger="knowledge.charity"):
        charity.reload(path, department[1])
    assert any("ALARM" in r.getMessage() and "missing" in r.getMessage() for r in caplog.records)
    assert "请以官方公告为准" in Citizen().say("海外寄口罩怎么捐")


def test_a_list_signed_with_someone_elses_key_is_not_trusted(tmp_path, department):
    path, _their_key = signed_copy(tmp_path)
    assert not charity.reload(path, department[1]).verified


def test_a_missing_public_key_is_not_trusted(tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="knowledge.charity"):
        assert not charity.reload(SHIPPED, tmp_path / "nowhere.pub").verified
    assert "ALARM" in caplog.text


def test_the_public_key_comes_from_configuration(tmp_path, make_app):
    path, public_key = signed_copy(tmp_path)
    make_app(charity_public_key_file="")
    assert not charity.reload(path).verified
    make_app(charity_public_key_file=str(public_key))
    assert charity.reload(path).verified


def test_a_confirmed_account_is_shown_with_the_day_it_was_checked(tmp_path):
    def confirm_changsha(doc):
        entry = federation(doc, "changsha")
        entry.update(account_name="长沙市慈善总会", bank="测试银行长沙分行", account_number="1234 5678 9012 3456")
        entry.update(account_verified_on=date(2020, 2, 10), phone="0731-00000000")

    charity.reload(*signed_copy(tmp_path, confirm_changsha))
    answer = Citizen().say("我在长沙想捐款")
    assert "户名：长沙市慈善总会" in answer and "开户行：测试银行长沙分行" in answer
    assert "账号：1234 5678 9012 3456" in answer and "账户核实于2020年2月10日" in answer
    assert "咨询电话：0731-00000000" in answer
    assert "银行账户正在核实" in Citizen().say("我在株洲想捐款")


def _drop_bank(doc):
    del federation(doc, "changsha")["bank"]


def _letters_in_account(doc):
    federation(doc, "zhuzhou")["account_number"] = "见公告"


def _unchecked_account(doc):
    federation(doc, "xiangtan").update(account_name="湘潭市慈善总会", bank="某银行", account_number="123456789012")


def _unquoted_account(doc):
    federation(doc, "changsha").update(account_number=1234567890123, account_verified_on=date(2020, 2, 10))


def _two_take_overseas(doc):
    federation(doc, "changsha")["accepts"].append("overseas_materials")


def _bad_date(doc):
    federation(doc, "hengyang")["verified_on"] = "二月三日"


def _duplicate_alias(doc):
    federation(doc, "zhuzhou")["aliases"].append("长沙")


@pytest.mark.parametrize(
    "edit, named",
    [
        (_drop_bank, ["federations[1]", "'bank'", "missing"]),
        (_letters_in_account, ["federations[2]", "'account_number'"]),
        (_unchecked_account, ["federations[3]", "'account_verified_on'"]),
        (_unquoted_account, ["federations[1]", "'account_number'", "quotes"]),
        (_two_take_overseas, ["only one organisation", "overseas_materials"]),
        (_bad_date, ["federations[4]", "'verified_on'", "YYYY-MM-DD"]),
        (_duplicate_alias, ["'长沙'", "长沙市慈善总会"]),
    ],
)
def test_a_malformed_list_is_refused_naming_the_entry_and_field(tmp_path, edit, named):
    doc = yaml.safe_load(SHIPPED.read_bytes())
    edit(doc)
    raw = yaml.safe_dump(doc, allow_unicode=True).encode()
    with pytest.raises(charity.CharityError) as refused:
        charity.parse(raw, verified=True)
    for words in named:
        assert words in str(refused.value)


def test_reloading_a_broken_file_keeps_the_list_in_use(tmp_path, department):
    path = tampered(tmp_path, "platforms: [腾讯公益, 支付宝公益, 轻松筹]", "platforms: [")
    with pytest.raises(charity.CharityError):
        charity.reload(path, department[1])
    assert charity.current().verified
    assert "长沙市慈善总会" in Citizen().say("我在长沙想捐款")


# ---- what staff do (README.md, the department's section) -------------------------------------------------------------


def test_staff_can_keygen_sign_and_verify_as_the_readme_says(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = readme[readme.index("### 捐赠渠道名单") :]
    for step in ("python -m knowledge.charity keygen --out", "python -m knowledge.charity sign --key", "verify"):
        assert step in guide
    assert charity.PUBLIC_KEY_ENV in guide and "待核实" in guide

    keys, path = tmp_path / "keys", tmp_path / "charity.yaml"
    shutil.copy(SHIPPED, path)
    assert charity.main(["keygen", "--out", str(keys)]) == 0
    assert (keys / "charity.key").stat().st_mode & 0o777 == 0o600
    assert charity.main(["keygen", "--out", str(keys)]) == 1  # never overwrites a key
    assert charity.main(["sign", "--key", str(keys / "charity.key"), "--file", str(path)]) == 0
    verify = ["verify", "--file", str(path), "--public-key", str(keys / "charity.pub")]
    assert charity.main(verify) == 0
    assert "OK" in capsys.readouterr().out

    path.write_text(path.read_text(encoding="utf-8").replace("stations: 1933", "stations: 1934"), encoding="utf-8")
    assert charity.main(verify) == 1
    assert "NOT TRUSTED" in capsys.readouterr().err


def test_signing_refuses_a_malformed_list(tmp_path):
    path = tmp_path / "charity.yaml"
    path.write_text(SHIPPED.read_text(encoding="utf-8").replace("    bank: 待核实\n", "", 1), encoding="utf-8")
    charity.keygen(tmp_path / "keys")
    assert charity.main(["sign", "--key", str(tmp_path / "keys" / "charity.key"), "--file", str(path)]) == 1
    assert not charity.signature_path(path).exists()
