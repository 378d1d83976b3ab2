"""The prevention-handbook Q&A as residents and editors see it."""

import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import yaml
from flask import Flask

from bot import faq_misses
from bot.chat import router
from bot.config import Config
from bot.messages import TEXT, Inbound, Session
from bot.web.api.faq import blueprint
from handlers import handbook as faq
from knowledge import handbook

NOW = datetime(2020, 2, 20, 9, 30, tzinfo=UTC)
STAFF = {"Authorization": "Bearer staff-secret"}


def said(text: str) -> Inbound:
    return Inbound(openid="o-resident", kind=TEXT, received_at=NOW, text=text)


def minimal_handbook(**entry_changes) -> dict:
    entry = {
        "id": "mask-wear",
        "category": "口罩",
        "question": "口罩怎么戴？",
        "alternatives": ["口罩哪面朝外", "口罩的铁丝朝上吗"],
        "answer": "深色面朝外，金属条朝上。",
        "source": "masks",
        "reviewed": "2020-02-10",
    }
    entry.update(entry_changes)
    return {"categories": ["口罩"], "sources": {"masks": "国家卫生健康委《口罩使用指南》"}, "entries": [entry]}


def write(tmp_path, data, name="handbook.yaml"):
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text.replace("'2020-02-10'", "2020-02-10"), encoding="utf-8")
    return path


@pytest.fixture
def shipped():
    """The shipped handbook in service, put back after tests that swap it."""
    assert handbook.reload()[0]
    yield handbook.current()
    handbook.reload()


@pytest.fixture
def session():
    return Session("o-resident")


# --- loading and validation -------------------------------------------------------------------


def test_the_shipped_handbook_loads_with_enough_entries_in_every_category(shipped):
    assert len(shipped.entries) >= 80
    for category in shipped.categories:
        assert shipped.in_category(category), category
    for entry in shipped.entries:
        assert entry.source and entry.reviewed.year == 2020
        assert not re.search(r"\d{7,}", entry.answer), f"{entry.id}: a phone or account number nobody checked"


def test_a_minimal_valid_file_loads(tmp_path):
    book = handbook.load(write(tmp_path, minimal_handbook()))
    assert [entry.id for entry in book.entries] == ["mask-wear"]
    assert book.entries[0].source == "国家卫生健康委《口罩使用指南》"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"answer": "  "}, "entry mask-wear: answer: missing or empty"),
        ({"answer": "很长的回答。" * 200}, "entry mask-wear: answer: 3600 bytes"),
        ({"question": ""}, "entry mask-wear: question: missing or empty"),
        ({"alternatives": ["只有一种说法"]}, "entry mask-wear: alternatives: needs at least 2"),
        ({"category": "饮食"}, "entry mask-wear: category: '饮食' is not one of the listed categories"),
        ({"source": "internet"}, "entry mask-wear: source: 'internet' is not a key of 'sources'"),
        ({"reviewed": "上个月"}, "entry mask-wear: reviewed: must be a date"),
        ({"anwser": "typo"}, "entry mask-wear: anwser: unknown field"),
        ({"id": "Mask Wear"}, "entry #1: id: must be lowercase"),
    ],
)
def test_a_broken_entry_is_refused_naming_its_id_and_field(tmp_path, change, expected):
    with pytest.raises(handbook.HandbookError, match="^" + expected.replace("(", r"\(")):
        handbook.load(write(tmp_path, minimal_handbook(**change)))


def test_duplicate_ids_are_refused(tmp_path):
    data = minimal_handbook()
    data["entries"].append(dict(data["entries"][0], question="口罩怎么摘？"))
    with pytest.raises(handbook.HandbookError, match="entry mask-wear: id: duplicate id"):
        handbook.load(write(tmp_path, data))


def test_a_file_that_is_not_yaml_is_refused(tmp_path):
    with pytest.raises(handbook.HandbookError, match="not valid YAML"):
        handbook.load(write(tmp_path, "entries: [unclosed"))


def test_a_word_in_two_synonym_groups_is_refused(tmp_path):
    path = write(tmp_path, "groups:\n  - [口罩, 面罩]\n  - [面具, 面罩]\n", "synonyms.yaml")
    with pytest.raises(handbook.HandbookError, match="'面罩' is in groups 1 and 2"):
        handbook.load_synonyms(path)


def test_reload_with_a_broken_file_keeps_the_old_handbook(shipped, tmp_path):
    ok, message = handbook.reload(write(tmp_path, minimal_handbook(answer="")))
    assert not ok
    assert "仍使用原问答库" in message and "mask-wear: answer" in message
    assert handbook.current() is shipped


def test_reload_with_a_good_file_puts_it_in_service(shipped, tmp_path):
    ok, message = handbook.reload(write(tmp_path, minimal_handbook()))
    assert ok and "1 条" in message
    assert [entry.id for entry in handbook.current().entries] == ["mask-wear"]


# --- retrieval --------------------------------------------------------------------------------


def test_synonyms_make_a_dialect_word_find_the_entry(shipped):
    best, _score = shipped.search("能去老人院看望爷爷不")[0]
    assert best.id == "inst-visit"


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("睡不找觉怎么办", "mind-sleep"),  # a typo: BM25 alone put the homeless-shelter entry first
        ("甚麼人要居家檢疫", "home-who"),  # Hong Kong's 檢疫 for 隔离: BM25 alone gave the family entry
        ("超市买菜要戴哪种口罩", "mask-which"),  # BM25 alone gave the shopping entry
    ],
)
def test_the_order_learns_from_how_the_entries_are_asked(shipped, question, entry_id):
    """The classifier trained on the entries' phrasings puts these first, where BM25's words did not."""
    assert shipped.search(question, 1)[0][0].id == entry_id


def test_a_restart_with_the_same_handbook_loads_its_classifier_without_scikit_learn():
    """The trained arrays are cached (var/cache/handbook): a start pays neither the import nor the training."""
    script = "import sys; from knowledge import handbook; handbook.load(); print('sklearn' in sys.modules)"
    run = lambda: subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)  # noqa: E731
    run()  # trains and saves, unless an earlier run did
    assert run().stdout.strip() == "False"


def test_scores_are_shares_between_0_and_1_best_first(shipped):
    scores = [score for _entry, score in shipped.search("口罩多久换一次", limit=5)]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 1 for score in scores)


def test_a_one_word_question_gets_suggestions_not_a_guess(shipped):
    decision = shipped.decide("口罩")
    assert decision.kind == handbook.SUGGESTIONS
    assert 2 <= len(decision.matches) <= 3
    assert all(entry.category == "口罩" for entry, _score in decision.matches)


@pytest.mark.parametrize("question", ["怎么办护照", "公积金怎么提取", "你好", "张三"])
def test_questions_outside_the_handbook_are_not_covered(shipped, question):
    assert shipped.decide(question).kind == handbook.NOT_COVERED


@pytest.mark.parametrize("question", ["隔离期间能申请失业金吗", "隔离期间房东要赶我走"])
def test_a_near_miss_naming_what_the_handbook_never_mentions_is_not_covered(shipped, question):
    best, _score = shipped.search(question)[0]
    assert best.category == "居家隔离与观察"  # it shares the isolation entries' words...
    assert shipped.decide(question).kind == handbook.NOT_COVERED  # ...but asks about something else


def test_a_family_word_the_handbook_never_uses_does_not_put_a_question_out_of_scope(tmp_path):
    question = "姑妈家的喜酒能去吃吗"  # 姑妈: a noun no phrasing or answer uses
    shipped_words = handbook.SYNONYMS_PATH.read_text(encoding="utf-8")
    unlisted = re.sub(r"\neveryday: \[[^]]*\]", "", shipped_words)
    assert unlisted != shipped_words
    listed = handbook.load()
    assert [entry.id for entry, _score in listed.decide(question).matches][:1] == ["go-wedding-banquet"]
    without = handbook.load(synonyms_path=write(tmp_path, unlisted, "synonyms.yaml"))
    assert without.decide(question).kind == handbook.NOT_COVERED


@pytest.mark.parametrize("question", ["夹了体温表三十七度九", "刚量了三十八度二要不要去医院"])
def test_a_temperature_said_in_words_gets_the_fever_answer(shipped, question):
    decision = shipped.decide(question)  # voice typing writes numbers in words
    assert decision.kind == handbook.ANSWER
    assert decision.matches[0][0].id == "symptom-fever"


def test_a_fever_question_naming_an_unknown_thing_still_gets_the_fever_answer(shipped):
    decision = shipped.decide("发烧了浑身骨头疼")  # 骨头: in no entry, and the match is weak
    assert decision.kind == handbook.ANSWER
    assert decision.matches[0][0].id == "symptom-fever"


# --- in chat ----------------------------------------------------------------------------------


def test_a_question_gets_the_answer_with_its_source_then_related_questions(r, shipped, session):
    reply = faq.ask(said("口罩哪面朝外啊？"), session)
    lines = reply.content.splitlines()
    assert lines[0] == "【口罩怎么戴才正确？】"
    assert "深色（有颜色）的一面朝外" in reply.content
    assert lines[-2].startswith("来源：国家卫生健康委《新型冠状病毒感染的肺炎公众防护指南》")
    assert lines[-1].startswith("相关问题（回复数字查看）：1. ")
    assert reply.intent == "faq.answer"


def test_a_question_in_traditional_characters_is_answered(r, shipped, session):
    reply = faq.ask(said("用過的口罩要怎麼丟？"), session)
    assert reply.content.startswith("【用过的口罩怎么扔？】")


def test_replying_a_digit_after_an_answer_opens_a_related_question(r, shipped, session):
    faq.ask(said("口罩多久换一次"), session)
    related = session.choices[0]["entry"]
    reply = router.route(said("1"), session)
    assert reply.content.startswith(f"【{shipped.by_id[related].question}】")


def test_every_answer_fits_one_reply_and_ends_with_source_and_related(shipped):
    for entry in shipped.entries:
        session = Session("o-resident")
        content = router.route(said("1"), _offering(session, entry.id)).content
        assert len(content.encode("utf-8")) <= 2048, entry.id
        *_, source, related = [line for line in content.splitlines() if line != faq.OFFER_BOOKING]
        assert source.startswith("来源：") and related.startswith("相关问题"), entry.id


def _offering(session: Session, entry_id: str) -> Session:
    session.offer(faq.CHOOSER, [{"entry": entry_id}])
    return session


def test_a_vague_question_offers_numbered_guesses_and_a_digit_picks_one(r, shipped, session):
    reply = faq.ask(said("口罩"), session)
    assert reply.content.startswith("您想问的是不是下面这些？回复数字查看：\n1. ")
    assert reply.intent == "faq.suggest"
    second = session.choices[1]["entry"]
    assert router.route(said("２"), session).content.startswith(f"【{shipped.by_id[second].question}】")


def test_an_uncovered_question_says_so_lists_categories_and_gives_the_hotline(r, shipped, session):
    reply = faq.ask(said("怎么办护照"), session)
    assert reply.content.startswith("抱歉，防疫知识手册里暂时没有这个问题的答案")
    assert "1. 口罩" in reply.content and "12345" in reply.content
    assert reply.intent == "faq.not_covered"
    assert router.route(said("1"), session).content.startswith("【口罩】回复数字查看回答：")


def test_a_long_story_turned_away_still_names_the_nearest_question_and_1_opens_it(r, shipped, session):
    """Weeks of sleepless worry told at length (礼拜 is a word the handbook never uses) is not answered
    outright; the reply says so honestly and puts the nearest entry first, so one digit answers it."""
    story = "我一到晚上就翻来覆去睡不着，闭眼就想他会不会染上，好几个礼拜了"
    reply = faq.ask(said(story), session)
    assert reply.intent == "faq.not_covered"
    sleep = shipped.by_id["mind-sleep"]
    assert f"您问的可能是：1. {sleep.question}" in reply.content
    assert "2. 口罩" in reply.content and "12345" in reply.content
    assert router.route(said("1"), session).content.startswith(f"【{sleep.question}】")


def test_the_menu_lists_categories_then_questions_then_the_answer(r, shipped, session):
    menu = faq.categories(said(""), session)
    assert menu.content.splitlines()[1] == "1. 口罩"
    assert len(menu.content.encode("utf-8")) <= 2048
    listing = router.route(said("9"), session)
    assert listing.content.startswith("【养老与儿童福利机构】")
    answer = router.route(said("1"), session)
    assert answer.content.startswith("【养老院现在封闭管理了吗？】")
    assert "2367家养老机构" in answer.content


def test_a_digit_without_pending_choices_or_out_of_range_is_not_taken(r, shipped, session):
    assert router.route(said("1"), session).content.startswith("您可以直接回复数字或文字")
    faq.categories(said(""), session)
    assert not router.route(said("99"), session).content.startswith("【")


def test_a_question_during_a_booking_is_answered_and_the_booking_stays(r, shipped, session):
    session.start("booking", office="cs-furong", step="slot")
    reply = faq.ask(said("养老院能探视吗"), session)
    assert reply.content.startswith("【能去养老院看望老人吗？】")
    assert reply.content.splitlines()[-1].startswith("相关问题（直接发送即可）：")
    assert session.flow == "booking" and session.data["step"] == "slot"
    assert session.chooser != faq.CHOOSER, "the booking's own digits must stay the booking's"


def test_a_vague_question_during_a_booking_suggests_questions_to_send_not_digits(r, shipped, session):
    session.start("booking", office="cs-furong", step="slot")
    reply = faq.ask(said("口罩"), session)
    assert reply.content.startswith("您想问的是不是下面这些？直接发送问题即可：\n· ")
    assert session.chooser != faq.CHOOSER


def test_the_router_can_tell_a_handbook_question_from_booking_input(shipped):
    assert faq.looks_like_question("口罩多久换一次啊")
    assert faq.looks_like_question("殯儀館可以辦告別式嗎")
    assert not faq.looks_like_question("明天上午9点")
    assert not faq.looks_like_question("张三")
    assert not faq.looks_like_question("2")


def test_a_choice_made_stale_by_a_reload_is_explained(r, shipped, session, tmp_path):
    faq.ask(said("口罩"), session)
    handbook.reload(write(tmp_path, minimal_handbook(id="other")))
    assert router.route(said("1"), session).content.startswith("问答库刚刚更新过")


# --- misses -----------------------------------------------------------------------------------


def test_unanswered_questions_are_counted_for_editors(r, shipped, session):
    faq.ask(said("怎么办护照"), session)
    faq.ask(said("怎么办护照？"), session)
    faq.ask(said("口罩"), session)  # a word, not a question: suggestions, but nothing for editors
    faq.ask(said("张三"), session)  # a name typed at the wrong moment: never in the list
    faq.ask(said("口罩多久换一次"), session)  # answered: not a miss
    assert faq_misses.top(10) == [{"text": "怎么办护照", "count": 2, "last_seen": "2020-02-20T09:30:00+00:00"}]


def test_the_same_question_counts_up_and_keeps_the_last_time(r):
    faq_misses.record("疫苗什么时候有", datetime(2020, 2, 1, tzinfo=UTC))
    faq_misses.record("疫苗什么时候有", NOW)
    faq_misses.record("护照", NOW)
    assert faq_misses.top(1) == [{"text": "疫苗什么时候有", "count": 2, "last_seen": NOW.isoformat()}]


def test_id_and_phone_numbers_are_masked_before_storing(r):
    faq_misses.record("我身份证430102199001011234，电话13812345678，能领证吗", NOW)
    (miss,) = faq_misses.top(5)
    assert "**************1234" in miss["text"] and "138****5678" in miss["text"]
    assert "199001011" not in miss["text"]


def test_only_the_most_asked_questions_are_kept(r, monkeypatch):
    monkeypatch.setattr(faq_misses, "MAX_QUESTIONS", 3)
    for question in ["甲问题", "甲问题", "乙问题", "乙问题", "丙问题", "丙问题", "丁问题"]:
        faq_misses.record(question, NOW)
    assert {miss["text"] for miss in faq_misses.top(10)} == {"甲问题", "乙问题", "丙问题"}
    assert r.hlen(faq_misses.LAST_SEEN) == 3


# --- staff endpoints --------------------------------------------------------------------------


@pytest.fixture
def staff_client(r, shipped):
    app = Flask("t")
    app.config["TONGZHOU"] = Config(admin_token="staff-secret")
    app.register_blueprint(blueprint)
    return app.test_client()


@pytest.mark.parametrize(("method", "path"), [("get", "/search?q=口罩"), ("get", "/misses"), ("post", "/reload")])
def test_endpoints_need_the_staff_token(staff_client, method, path):
    response = getattr(staff_client, method)("/api/v1/faq" + path)
    assert response.status_code == 401


def test_editors_can_test_a_question_and_see_ranked_scores(staff_client):
    response = staff_client.get("/api/v1/faq/search", query_string={"q": "口罩哪面朝外", "limit": 3}, headers=STAFF)
    assert response.status_code == 200
    body = response.get_json()
    assert body["decision"] == "answer"
    assert body["results"][0]["id"] == "mask-wear"
    assert len(body["results"]) == 3
    assert body["results"][0]["score"] >= body["results"][1]["score"]


def test_search_without_a_question_is_a_bad_request(staff_client):
    assert staff_client.get("/api/v1/faq/search", headers=STAFF).status_code == 400


def test_editors_see_missed_questions(staff_client, session):
    faq.ask(said("公积金怎么提取"), session)
    response = staff_client.get("/api/v1/faq/misses", headers=STAFF)
    assert response.status_code == 200
    assert response.get_json()["misses"] == [
        {"text": "公积金怎么提取", "count": 1, "last_seen": "2020-02-20T09:30:00+00:00"}
    ]


def test_reload_endpoint_reports_success_and_refuses_a_broken_file(staff_client, tmp_path, monkeypatch):
    response = staff_client.post("/api/v1/faq/reload", headers=STAFF)
    assert response.status_code == 200 and response.get_json()["ok"]
    monkeypatch.setattr(handbook, "HANDBOOK_PATH", write(tmp_path, minimal_handbook(answer="")))
    response = staff_client.post("/api/v1/faq/reload", headers=STAFF)
    assert response.status_code == 422
    body = response.get_json()
    assert not body["ok"] and body["entries"] >= 80


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("发高烧了怎么办", "symptom-fever"),
        ("一直干咳怎么办", "symptom-cough"),
        ("一直咳嗽要去医院吗", "symptom-cough"),
        ("和确诊的人说过话怎么办", "symptom-close-contact"),
        ("孩子烧起来了", "child-fever"),
        ("伢子烧到39度了", "child-fever"),
    ],
)
def test_fever_cough_and_contact_get_a_direct_answer_saying_when_to_seek_care(shipped, question, expected):
    decision = shipped.decide(question)
    assert decision.kind == handbook.ANSWER
    assert [entry.id for entry, _score in decision.matches] == [expected]
    assert "发热门诊" in decision.matches[0][0].answer
