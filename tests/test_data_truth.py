"""The shipped data says only what is true and lawful (issue 13): every handbook answer traces to a
real, dated document; nothing carries an account, phone or address nobody checked; no answer
claims the department's authority for a list the department has not signed; and "what to bring"
is one wording everywhere.
"""

import datetime
import re

import pytest
import yaml

from bot.bookings import wording
from bot.messages import TEXT, Inbound, Session
from handlers import donation
from knowledge import charity, handbook

# The real public documents the handbook may cite, with the date each was issued. A new source
# goes here only after someone has read the document itself. (公众防护指南: a book published in
# January 2020 with no day on its imprint; its month's last day is used for the date check.)
DOCUMENTS = {
    "国家卫生健康委疾病预防控制局《预防新型冠状病毒感染的肺炎口罩使用指南》（2020年1月31日）": datetime.date(
        2020, 1, 31
    ),
    "国务院应对新型冠状病毒肺炎疫情联防联控机制《公众科学戴口罩指引》（2020年3月17日）": datetime.date(2020, 3, 17),
    "国家卫生健康委《新型冠状病毒感染的肺炎公众防护指南》（人民卫生出版社，2020年1月）": datetime.date(2020, 1, 31),
    "国家卫生健康委办公厅《新型冠状病毒感染的肺炎防控中居家隔离医学观察感染防控指引（试行）》（2020年2月4日）": (
        datetime.date(2020, 2, 4)
    ),
    "国家卫生健康委《新型冠状病毒感染的肺炎疫情紧急心理危机干预指导原则》（2020年1月27日）": datetime.date(2020, 1, 27),
    "湖南省民政厅公布的疫情防控措施（截至2020年2月3日）": datetime.date(2020, 2, 3),
    "国务院《婚姻登记条例》（2003年8月8日公布）": datetime.date(2003, 8, 8),
    "国务院《婚姻登记条例》第五条、民政部《婚姻登记工作规范》（2015年12月8日）": datetime.date(2015, 12, 8),
}

# Statements an audit found with no source behind them (issue 13). They must not come back.
UNSOURCED_CLAIMS = [
    "喜事缓办",
    "原则上暂停探视",
    "原则上",
    "探访关爱",
    "临时照料",
    "街面巡查",
    "及时送医",
    "先行救助",
    "照常发放",
    "照常进行",
    "代祭扫",
    "实行预约、错峰办理",  # divorce "by booking"
    "不能进入登记大厅",  # 37.3℃ at the registry door
]

NUMBER = re.compile(r"\d[\d\- ]{4,}\d")  # phone, account and house numbers alike
ALLOWED_NUMBERS = {"12345"}
ADDRESS = re.compile(r"[路街道巷]\d+号|\d+号楼")


@pytest.fixture(scope="module")
def book():
    return handbook.load()


def test_every_handbook_entry_cites_a_real_document_and_was_reviewed_after_it(book):
    for entry in book.entries:
        assert entry.source in DOCUMENTS, f"{entry.id}: '{entry.source}' is not a known document"
        issued = DOCUMENTS[entry.source]
        assert entry.reviewed >= issued, f"{entry.id}: reviewed {entry.reviewed}, before its source ({issued})"


def test_every_handbook_answer_fits_one_reply(book):
    for entry in book.entries:
        assert len(entry.answer.encode("utf-8")) <= handbook.MAX_ANSWER_BYTES, entry.id


def test_no_handbook_answer_carries_an_unchecked_phone_account_or_address(book):
    for entry in book.entries:
        numbers = {n for n in NUMBER.findall(entry.answer)} - ALLOWED_NUMBERS
        assert not numbers, f"{entry.id}: {numbers}"
        assert not ADDRESS.search(entry.answer), entry.id


def test_no_handbook_answer_repeats_a_claim_found_unsourced(book):
    for entry in book.entries:
        found = [claim for claim in UNSOURCED_CLAIMS if claim in entry.answer]
        assert not found, f"{entry.id}: {found}"


def test_the_seed_keeps_its_strength(book):
    homes = book.by_id["inst-nursing-closed"].answer
    assert "不接受探视" in homes and "14天以上" in homes


def test_an_entry_whose_question_names_a_remedy_answers_about_it(book):
    for entry in book.entries:
        for remedy in ("板蓝根", "熏醋", "呼气阀", "N95"):
            if remedy in entry.question:
                assert remedy in entry.answer, f"{entry.id} asks about {remedy} but does not answer it"


# ---- the donation list -------------------------------------------------------------------------------


def said(text: str) -> Inbound:
    return Inbound("o-donor", TEXT, datetime.datetime(2020, 2, 5, tzinfo=datetime.UTC), text=text)


DONOR_MESSAGES = ["我想捐款", "我在长沙想捐款", "海外寄口罩怎么捐", "捐物资给岳阳", "网上怎么捐", "都捐，全省"]


def test_no_account_phone_or_address_in_the_list_unless_sourced_and_verified():
    doc = yaml.safe_load(charity.DEFAULT_FILE.read_text(encoding="utf-8"))
    for entry in doc["federations"]:
        for field in ("account_name", "bank", "account_number", "phone", "address"):
            value = str(entry.get(field, charity.UNVERIFIED))
            if value != charity.UNVERIFIED:
                assert str(entry.get("source", "")).startswith(("http://", "https://")), (entry["id"], field)
                verified = entry.get("account_verified_on" if field != "phone" else "verified_on")
                assert isinstance(verified, datetime.date), (entry["id"], field)


def test_an_unsigned_list_is_never_credited_to_the_department():
    charity.use_public_key()
    charities = charity.reload()
    assert not charities.verified
    for text in DONOR_MESSAGES:
        session = Session("o-donor")
        reply = donation.start(said(text), session)
        assert session.flow is None, "an unverified list asks nothing: there is nothing it may answer"
        assert "来源：湖南省民政厅" not in reply.content, text
        assert "等待湖南省民政厅确认" in reply.content and charity.OFFICIAL_SITE in reply.content, text


# ---- registration wording ------------------------------------------------------------------------------


def test_what_to_bring_and_where_to_register_are_the_bookings_own_words(book):
    # The booking channels take both from bot/bookings/wording.py (test_bookings.py checks them there);
    # the handbook, which may not import bot, carries the same strings.
    assert book.by_id["marriage-materials"].answer.startswith(wording.WHAT_TO_BRING)
    assert book.by_id["marriage-where"].answer.startswith(wording.WHERE_TO_REGISTER)
