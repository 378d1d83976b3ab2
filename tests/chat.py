"""A citizen's phone, for tests: sends signed WeChat XML through the real `/wechat` endpoint and
reads the reply the way the person would see it."""

from bot import store
from bot.chat import sessions
from bot.messages import Session
from bot.wechat import simulate


def session_of(openid: str) -> Session:
    """The session as the next message's turn will load it."""
    return sessions.parse(openid, store.client().get(sessions.key(openid)))


class Chat:
    def __init__(self, app, openid: str = "o_test_citizen"):
        self.app = app
        self.config = app.config["TONGZHOU"]
        self.client = app.test_client()
        self.openid = openid

    def post(self, xml: str, **sign_args):
        query, body = simulate.signed(self.config, xml, **sign_args)
        return self.client.post(f"/wechat?{query}", data=body)

    def reply_xml(self, xml: str) -> str:
        response = self.post(xml)
        assert response.status_code == 200, response.data
        return simulate.open_reply(self.config, response.get_data(as_text=True))

    def say(self, content: str, **xml_args) -> str:
        return simulate.readable(self.reply_xml(simulate.text(self.openid, content, **xml_args)))

    def click(self, key: str) -> str:
        return simulate.readable(self.reply_xml(simulate.click(self.openid, key)))

    def send_location(self, lat: float, lng: float, label: str = "") -> str:
        return simulate.readable(self.reply_xml(simulate.location(self.openid, lat, lng, label)))

    def scan(self, scene: str) -> str:
        return simulate.readable(self.reply_xml(simulate.scan(self.openid, scene)))
