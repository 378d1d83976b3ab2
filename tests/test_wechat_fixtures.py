"""Every real WeChat message in ../shared/wechat-fixtures gets a sensible answer through /wechat."""

from urllib.parse import urlencode

import pytest
from wechatpy.replies import ArticlesReply, TextReply

from bot import replies
from bot.wechat import render, simulate
from bot.wechat.protocol import sign
from tests.conftest import FIXTURES

TENCENT = {
    "wechat_token": "spamtest",
    "wechat_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "wechat_appid": "wx2c2769f8efd9abc2",
}
TENCENT_QUERY = {
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
}
WECOM = {
    "wechat_token": "123456",
    "wechat_aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
    "wechat_appid": "wx49f0ab532d5d035a",
}
WECOM_QUERY = {
    "timestamp": "1411525903",
    "nonce": "461056294",
    "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
}
WECOM_REPLY_QUERY = {**WECOM_QUERY, "msg_signature": "407518b7649e86ef23978113f92d27afa9296533"}
GO = {
    "wechat_token": "tom00123",
    "wechat_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "wechat_appid": "wx17a727aa81c60f43",
}
GO_QUERY = {
    "timestamp": "1515926128",
    "nonce": "143125540",
    "msg_signature": "2a57bca3d93100e42599d453d97ebde9f5a57eca",
}

ANSWERED = "answered"  # a text reply with words in it
WELCOME = "welcome"
PLEASE_TYPE = "please type"
SUCCESS = "success"

PLAIN = {
    "msg_text.xml": ANSWERED,
    "msg_voice_recognition.xml": ANSWERED,
    "msg_location.xml": ANSWERED,
    "msg_image.xml": PLEASE_TYPE,
    "msg_voice.xml": PLEASE_TYPE,
    "msg_video.xml": PLEASE_TYPE,
    "msg_shortvideo.xml": PLEASE_TYPE,
    "msg_link.xml": PLEASE_TYPE,
    "msg_unknown_type.xml": SUCCESS,
    "event_subscribe.xml": WELCOME,
    "event_subscribe_qrscene.xml": WELCOME,
    "event_unsubscribe.xml": SUCCESS,
    "event_scan.xml": ANSWERED,
    "event_click.xml": ANSWERED,
    "event_location.xml": SUCCESS,
    "event_view.xml": SUCCESS,
    "event_scancode_push.xml": SUCCESS,
    "event_kf_create_session.xml": SUCCESS,
    "event_templatesendjobfinish_success.xml": SUCCESS,
    "event_templatesendjobfinish_failed.xml": SUCCESS,
    "event_subscribe_msg_popup.xml": SUCCESS,
    "event_subscribe_msg_change.xml": SUCCESS,
    "event_subscribe_msg_sent.xml": SUCCESS,
    "event_unknown.xml": SUCCESS,
    "decrypted_text_tencent_sample.xml": ANSWERED,
    "decrypted_wecom_wechatpy.xml": ANSWERED,
    "decrypted_reply_3rdparty_go.xml": ANSWERED,
    "reply_text.xml": ANSWERED,
    "reply_plain_wechatpy_encrypt_vector.xml": ANSWERED,
    "reply_image.xml": PLEASE_TYPE,
    "reply_news_official_doc.xml": SUCCESS,
    "reply_transfer_customer_service.xml": SUCCESS,
    "reply_transfer_customer_service_kf.xml": SUCCESS,
    # Compatible-mode body read without encrypt_type: its plaintext fields are the message.
    "encrypted_text_tencent_sample.xml": ANSWERED,
}

ENCRYPTED = {
    "encrypted_text_tencent_sample.xml": (TENCENT, TENCENT_QUERY),
    "encrypted_text_tencent_sample_safe_mode.xml": (TENCENT, TENCENT_QUERY),
    "encrypted_wecom_wechatpy.xml": (WECOM, WECOM_QUERY),
    "reply_encrypted_wechatpy_encrypt_vector.xml": (WECOM, WECOM_REPLY_QUERY),
    "reply_encrypted_3rdparty_go.xml": (GO, GO_QUERY),
}


def test_every_fixture_is_covered():
    assert {p.name for p in FIXTURES.glob("*.xml")} == set(PLAIN) | set(ENCRYPTED)


def _check(reply_xml: str, expected: str):
    seen = simulate.readable(reply_xml)
    if expected == SUCCESS:
        assert reply_xml == "success"
    elif expected == WELCOME:
        assert "欢迎" in seen and "预约" in seen
    elif expected == PLEASE_TYPE:
        assert "文字" in seen
    else:
        assert reply_xml.startswith("<xml>") and len(seen) >= 4


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_fixture_gets_a_sensible_reply(make_app, name):
    app = make_app(max_clock_skew=0)
    token, timestamp, nonce = app.config["TONGZHOU"].wechat_token, "1409735669", "42"
    query = urlencode({"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce})
    response = app.test_client().post(f"/wechat?{query}", data=(FIXTURES / name).read_bytes())
    assert response.status_code == 200
    _check(response.get_data(as_text=True), PLAIN[name])


@pytest.mark.parametrize("name", sorted(ENCRYPTED))
def test_encrypted_fixture_is_decrypted_and_answered_encrypted(make_app, name):
    account, params = ENCRYPTED[name]
    app = make_app(max_clock_skew=0, **account)
    config = app.config["TONGZHOU"]
    query = urlencode(
        {**params, "encrypt_type": "aes", "signature": sign(config.wechat_token, params["timestamp"], params["nonce"])}
    )
    response = app.test_client().post(f"/wechat?{query}", data=(FIXTURES / name).read_bytes())
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<Encrypt>" in body and "<MsgSignature>" in body
    _check(simulate.open_reply(config, body), ANSWERED)


def test_tencent_sample_decrypts_to_its_known_text(make_app):
    from bot.wechat.protocol import Envelope, open_body

    config = make_app(max_clock_skew=0, **TENCENT).config["TONGZHOU"]
    envelope = Envelope(signature="", encrypt_type="aes", **TENCENT_QUERY)
    xml = open_body(config, envelope, (FIXTURES / "encrypted_text_tencent_sample_safe_mode.xml").read_bytes())
    assert "<Content><![CDATA[abcdteT]]></Content>" in xml


def test_message_for_another_appid_is_refused(make_app):
    app = make_app(max_clock_skew=0, **{**TENCENT, "wechat_appid": "wxWRONG"})
    query = urlencode(
        {
            **TENCENT_QUERY,
            "encrypt_type": "aes",
            "signature": sign("spamtest", TENCENT_QUERY["timestamp"], TENCENT_QUERY["nonce"]),
        }
    )
    response = app.test_client().post(
        f"/wechat?{query}", data=(FIXTURES / "encrypted_text_tencent_sample.xml").read_bytes()
    )
    assert response.status_code == 403


def test_replies_are_the_bytes_wechatpy_renders(monkeypatch):
    # The reply templates stand in for wechatpy's reply objects: WeChat must see the same bytes.
    monkeypatch.setattr("time.time", lambda: 1700000000.25)
    text = "您好！\n<b>&amp; ]]> 在此"
    ours = render.to_xml(replies.Text(text), "o_user", "gh_account")
    theirs = TextReply(source="gh_account", target="o_user", content=text.replace("]]>", "]]]]><![CDATA[>"))
    assert ours == theirs.render()
    article = replies.Article("标题", "说明", "https://example.org/a", "https://example.org/a.png")
    theirs = ArticlesReply(source="gh_account", target="o_user", articles=[vars(article)])
    assert render.to_xml(replies.News(article), "o_user", "gh_account") == theirs.render()
