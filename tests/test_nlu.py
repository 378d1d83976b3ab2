"""The language stage (bot/chat/nlu.py) as the chat, the console and the API see it."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml

from bot.chat import nlu
from knowledge import intents, textmodel
from tests.chat import session_of
from tests.handbook_eval_table import is_traditional

STAFF = {"Authorization": "Bearer staff"}
NOW = datetime(2026, 5, 18, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def staff_client(make_app):
    return make_app(admin_token="staff").test_client()


@pytest.fixture
def always_unsure(monkeypatch):
    """The model as trained, with thresholds no guess meets: every free text is asked back."""
    model = intents.current()
    monkeypatch.setattr(intents, "_model", intents.Model(model.classifier, intents.Thresholds(1.0, 1.0)))


def test_parse_is_for_staff_and_shows_intent_and_entities(staff_client):
    body = {"text": "下周三上午在芙蓉区登记结婚", "now": "2026-05-18T10:00:00+08:00"}
    assert staff_client.post("/api/v1/nlu/parse", json=body).status_code == 401
    answer = staff_client.post("/api/v1/nlu/parse", json=body, headers=STAFF).get_json()
    assert answer["intent"] == "booking" and answer["runner_up"] and 0 < answer["confidence"] <= 1
    assert answer["entities"] == {"date": "2026-05-27", "time": "上午", "office_id": "changsha-furong"}


@pytest.mark.parametrize("text", ["取消", "帮助", "更多", "2", "把预约退了", "口罩怎么戴", "转人工", "明天天气怎么样"])
def test_parse_answers_exactly_what_the_chat_decides(staff_client, text):
    body = {"text": text, "now": "2026-05-18T10:00:00+08:00"}
    answer = staff_client.post("/api/v1/nlu/parse", json=body, headers=STAFF).get_json()
    assert answer == nlu.understand(text, NOW).to_json()


def test_parse_refuses_malformed_requests_with_a_chinese_message(staff_client):
    assert staff_client.post("/api/v1/nlu/parse", json=["x"], headers=STAFF).status_code == 400
    bad_now = staff_client.post("/api/v1/nlu/parse", json={"text": "明天", "now": "下周"}, headers=STAFF)
    assert bad_now.status_code == 422 and "ISO 8601" in bad_now.get_json()["message"]


def test_commands_stay_rules():
    assert [nlu.understand(t, NOW).intent for t in ("取消", "退出", "帮助", "菜单", "更多", "3")] == [
        nlu.LEAVE,
        nlu.LEAVE,
        nlu.HELP,
        nlu.HELP,
        nlu.MORE,
        nlu.CHOICE,
    ]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("把预约退了", "cancel_booking"),
        ("不约了", "cancel_booking"),
        ("咱们想约个日子结婚", "booking"),
        ("我不取消 只是想换个日子", "reschedule"),
        ("我约的是哪天来着", "my_booking"),
        ("谢谢", "greeting"),
        ("我要找工作人员", "human"),
    ],
)
def test_citizens_own_words_reach_the_right_intent(text, intent):
    assert nlu.understand(text, NOW).intent == intent


# Each pair shares the words (预约, 报名, 退, 查) but only one is this account's business: the other
# office's, exam's or company's request is declined, not answered as a booking or a handbook question.
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("省肿瘤医院挂号怎么约", "out_of_scope"),
        ("结婚登记怎么预约", "booking"),
        ("驾照科目一怎么报名", "out_of_scope"),
        ("防疫志愿者在哪报名", "volunteer"),
        ("退掉明天的高铁票", "out_of_scope"),
        ("把明天的登记预约退掉", "cancel_booking"),
        ("查一下我的公积金", "out_of_scope"),
        ("查一下我的登记预约", "my_booking"),
        ("社保卡补办要多久", "out_of_scope"),
    ],
)
def test_requests_that_only_sound_like_ours_are_told_apart(text, intent):
    assert nlu.understand(text, NOW).intent == intent


# Another company's 客服 is declined while this account's staff are reached; a question about
# registration itself is a handbook question (answered, then a booking offered), not a booking; and
# someone outside Hunan may start a booking (the flow asks for the county).
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("联通的人工客服电话是多少", "out_of_scope"),
        ("光大银行客服怎么转人工", "out_of_scope"),
        ("我要找你们的人工客服", "human"),
        ("现在疫情还能领结婚证吗", "handbook"),
        ("登记必须两个人一块儿去吗", "handbook"),
        ("人在外省 能在这里约湖南的登记吗", "booking"),
    ],
)
def test_whose_service_and_whether_a_question_or_a_request(text, intent):
    assert nlu.understand(text, NOW).intent == intent


def test_valid_id_numbers_are_entities_shown_masked_only():
    decision = nlu.understand("我的身份证号是11010519491231002X", NOW)
    assert decision.entities["id_numbers"] == ["**************002X"]
    assert "11010519491231002X" not in str(decision.to_json())


def test_an_unsure_guess_becomes_one_numbered_question_and_a_digit_picks(chat, always_unsure):
    asked = chat.say("那个预约我想退了")
    assert asked.startswith("您是想：\n1. ") and "\n2. " in asked
    offered = session_of(chat.openid).choices
    assert len(offered) == 2 and offered[0]["intent"] in nlu.OPTION_LABELS
    picked = chat.say("1")
    assert picked != asked and not picked.startswith("您是想")


def test_picking_from_a_clarifying_question_answers_the_words_it_was_asked_about(chat, always_unsure):
    asked = chat.say("领证要带什么")
    assert asked.startswith("您是想：\n1. 防疫知识问答\n2. 预约结婚登记")
    answer = chat.say("1")
    assert "户口" in answer and "身份证" in answer  # the registration question answered, not a menu


def test_the_clarifying_thresholds_are_chosen_again_whenever_the_bank_changes():
    assert intents.thresholds_are_current(), "the utterance bank changed: run `make intents-thresholds`"


def test_at_the_served_thresholds_close_calls_are_asked_back():
    """Chosen on cross-validated guesses: some dev messages are close calls the chat asks about."""
    model = intents.current()
    guesses = model.classifier.guesses([text for text, _ in intents.development()])
    assert model.thresholds.margin > 0 and any(model.thresholds.asks_back(g) for g in guesses)


def test_every_intent_a_question_may_offer_has_words_for_it():
    assert set(nlu.OPTION_LABELS) == set(intents.INTENTS) - set(intents.NEVER_OFFERED)


def test_a_clarifying_question_keeps_no_id_number_in_the_clear(chat, always_unsure):
    chat.say("那个预约我想退了 我身份证11010519491231002X")
    kept = str(session_of(chat.openid).choices)
    assert "11010519491231002X" not in kept and "**************002X" in kept


def test_a_clarifying_question_lasts_one_message(chat, always_unsure):
    chat.say("那个预约我想退了")
    chat.say("口罩怎么戴")
    assert not any("intent" in choice for choice in session_of(chat.openid).choices)


def test_inside_a_flow_the_stage_never_asks_with_digits(always_unsure):
    assert nlu.understand("那个预约我想退了", NOW, in_flow=True).intent != nlu.CLARIFY


def test_the_served_arrays_give_scikit_learns_own_probabilities():
    served = intents.current().classifier  # loaded from var/cache/intents, or trained just now
    pipeline = textmodel.Classifier(intents.split("train"), intents.CHOSEN).pipeline
    texts = [text for text, _ in intents.split("dev")] + ["", "   ", "hello world", "😀", "👨‍👩‍👧 🥰"]
    decision = pipeline.decision_function([textmodel.model_text(t) for t in texts])
    expected = np.exp(decision - decision.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert served.classes == list(pipeline.classes_)
    assert np.allclose([served.probabilities(t) for t in texts], expected)


def test_saved_arrays_load_back_the_same_model(tmp_path):
    served = intents.current().classifier
    served.save(tmp_path / "model.npz")
    loaded = textmodel.Scorer.load(tmp_path / "model.npz")
    texts = [text for text, _ in intents.split("dev")]
    assert loaded.guesses(texts) == served.guesses(texts)


def test_the_model_gives_the_same_answers_from_many_threads():
    classifier = intents.current().classifier
    texts = [text for text, _ in intents.split("dev")] * 5
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(classifier.guess, texts)) == [classifier.guess(t) for t in texts]


def test_a_misspelt_intent_in_the_bank_stops_start_up(tmp_path, monkeypatch):
    (tmp_path / "train.yaml").write_text("bookin:\n  - 预约\n", encoding="utf-8")
    monkeypatch.setattr(intents, "BANK", tmp_path)
    with pytest.raises(intents.UtteranceDataError, match="bookin"):
        intents.split("train")


# The held-out splits and the figures measured when each was first run with today's model (README):
# the floors keep a change from losing ground. Targets: 95% intents, 95% of out-of-scope declined.
# test.yaml's errors were seen once (its later additions to train/dev were written after that run);
# test2.yaml was looked at too, and test3.yaml (written 2026-12-02) was measured after that day's round.
# test4.yaml, written on 2026-12-04 before that day's tuning by 49 new role-played people, is the
# clean measure now; its floors are its first run, on commit 4a8b51b.
HELD_OUT_FLOORS = {"test4": (0.92, 0.86), "test3": (0.88, 0.76), "test2": (0.97, 0.93), "test": (0.95, 0.90)}


def test_the_clean_held_out_split_is_large_and_varied():
    """Every intent and enough declines measured, by many people, a quarter in Traditional."""
    test = intents.split("test4")
    people = yaml.safe_load((intents.BANK / "test4.yaml").read_text(encoding="utf-8"))["personas"]
    per_intent = {intent: sum(label == intent for _, label in test) for intent in intents.INTENTS}
    assert len(test) >= 330 and len(people) >= 30
    assert min(per_intent.values()) >= 20 and per_intent["out_of_scope"] >= 60
    assert sum(is_traditional(text) for text, _ in test) >= len(test) / 4


def outcome(decision: nlu.Decision, label: str) -> str:
    """right, asked (a clarifying question offering the right intent: one more message, no
    misunderstanding) or wrong (the wrong intent acted on, or a question offering only wrong ones)."""
    if decision.intent == nlu.CLARIFY:
        return "asked" if label in decision.options else "wrong"
    return "right" if decision.intent == label else "wrong"


@pytest.mark.parametrize("split", HELD_OUT_FLOORS)
def test_held_out_intents_table(split):
    """A held-out, role-played split: never trained or tuned on. Prints the per-intent table."""
    model = intents.current()
    test = intents.split(split)
    decisions = [nlu.understand(text, NOW) for text, _ in test]
    outcomes = [outcome(decision, label) for decision, (_, label) in zip(decisions, test, strict=True)]
    rows = []
    for intent in intents.INTENTS:
        mine = [got for got, (_, label) in zip(outcomes, test, strict=True) if label == intent]
        right, asked, wrong = (mine.count(kind) for kind in ("right", "asked", "wrong"))
        rows.append(
            f"{intent:<16}{right:>4}/{len(mine):<4}{right / len(mine):>6.1%}  asked {asked:>2}  wrong {wrong:>2}"
        )
    right, asked, wrong = (outcomes.count(kind) for kind in ("right", "asked", "wrong"))
    declined = [d.intent for d, (_, label) in zip(decisions, test, strict=True) if label == "out_of_scope"]
    kept_out = declined.count("out_of_scope")
    print(f"\nheld-out {split}.yaml (thresholds {model.thresholds})", *rows, sep="\n")
    print(
        f"all: right {right}/{len(test)} = {right / len(test):.1%}, asked back with the right option {asked}, "
        f"wrong {wrong}; understood {(right + asked) / len(test):.1%}; out of scope declined {kept_out}/{len(declined)}"
    )
    intents_floor, declined_floor = HELD_OUT_FLOORS[split]
    assert (right + asked) / len(test) >= intents_floor
    assert kept_out / len(declined) >= declined_floor


def test_the_console_shows_the_same_decision(app):
    from bot import console

    shown = console.nlu_text("把预约退了", NOW)
    assert shown == json.dumps(nlu.understand("把预约退了", NOW).to_json(), ensure_ascii=False)
    assert '"intent": "cancel_booking"' in shown
