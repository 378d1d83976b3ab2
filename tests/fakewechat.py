"""A fake WeChat API server on loopback, for tests that make real HTTP calls.

    with FakeWeChat() as wechat:
        client = wechat_api.make_client(wechat.config())
        wechat.fail("message/custom/send", 45015)      # the next custom send answers errcode 45015
        ...
        assert wechat.count("token") == 1
        assert wechat.requests_to("message/template/send")[0].body["touser"] == "o-user"

It serves the four endpoints Tongzhou calls, records every request (path, query, JSON body) and
counts calls per endpoint. Access tokens are issued as `token-1`, `token-2`, ... and only the
latest `valid_tokens` are accepted, so a test can see a stale token rejected with 40001.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from bot.config import Config

TOKEN = "token"
CUSTOM_SEND = "message/custom/send"
TEMPLATE_SEND = "message/template/send"
MENU_CREATE = "menu/create"
ENDPOINTS = (TOKEN, CUSTOM_SEND, TEMPLATE_SEND, MENU_CREATE)

ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40013: "invalid appid",
    42001: "access_token expired",
    43004: "require subscribe",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
}


@dataclass(frozen=True)
class Request:
    endpoint: str  # path after /cgi-bin/, e.g. "message/custom/send"
    query: dict  # single values: {"access_token": "token-1"}
    body: dict | None  # the posted JSON, None for GET


@dataclass
class FakeWeChat:
    appid: str = "wx-test"
    secret: str = "test-secret"
    expires_in: int = 7200
    valid_tokens: int = 1
    requests: list[Request] = field(default_factory=list)
    menu: dict | None = None  # the last menu posted to menu/create

    def __post_init__(self):
        self._lock = threading.Lock()
        self._failures: dict[str, list[int]] = {}
        self._delays: dict[str, float] = {}
        self._issued = 0
        self._server = None
        self._thread = None

    # --- what tests call -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/cgi-bin/"

    def config(self, **settings) -> Config:
        """App configuration that talks to this server."""
        return Config(wechat_appid=self.appid, wechat_secret=self.secret, wechat_api_base=self.base_url, **settings)

    def fail(self, endpoint: str, errcode: int, times: int = 1) -> None:
        """Answer the next `times` calls of `endpoint` with `errcode` (after the token check)."""
        with self._lock:
            self._failures.setdefault(endpoint, []).extend([errcode] * times)

    def slow(self, endpoint: str, seconds: float) -> None:
        """Make every call of `endpoint` take `seconds` before it is answered (0: fast again)."""
        self._delays[endpoint] = seconds

    def count(self, endpoint: str) -> int:
        return len(self.requests_to(endpoint))

    def requests_to(self, endpoint: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def expire_tokens(self) -> None:
        """Every token issued so far stops working, as when another system fetched a new one."""
        with self._lock:
            self._issued += self.valid_tokens

    def start(self) -> "FakeWeChat":
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-wechat", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> "FakeWeChat":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what the handler calls ------------------------------------------------------------

    def _answer(self, endpoint: str, query: dict, body: dict | None) -> dict:
        with self._lock:
            self.requests.append(Request(endpoint, query, body))
            if endpoint == TOKEN:
                return self._issue_token(query)
            if query.get("access_token") not in self._live_tokens():
                return _error(40001)
            queued = self._failures.get(endpoint)
            if queued:
                return _error(queued.pop(0))
            if endpoint == MENU_CREATE:
                self.menu = body
            if endpoint == TEMPLATE_SEND:
                return {"errcode": 0, "errmsg": "ok", "msgid": len(self.requests)}
            return {"errcode": 0, "errmsg": "ok"}

    def _issue_token(self, query: dict) -> dict:
        if query.get("grant_type") != "client_credential" or query.get("appid") != self.appid:
            return _error(40013)
        if query.get("secret") != self.secret:
            return _error(40001)
        queued = self._failures.get(TOKEN)
        if queued:
            return _error(queued.pop(0))
        self._issued += 1
        return {"access_token": f"token-{self._issued}", "expires_in": self.expires_in}

    def _live_tokens(self) -> set[str]:
        first = max(1, self._issued - self.valid_tokens + 1)
        return {f"token-{n}" for n in range(first, self._issued + 1)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 resets connections when 20 callers arrive together


def _error(errcode: int) -> dict:
    return {"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")}


def _handler_for(fake: FakeWeChat):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self._serve(body=None)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw.decode("utf-8")) if raw else {}
            except ValueError:
                self._reply(200, {"errcode": 47001, "errmsg": "data format error"})
                return
            self._serve(body=body)

        def _serve(self, body):
            url = urlparse(self.path)
            endpoint = url.path.removeprefix("/cgi-bin/")
            if not url.path.startswith("/cgi-bin/") or endpoint not in ENDPOINTS:
                self._reply(404, {"errcode": 404, "errmsg": "not found"})
                return
            if (endpoint == TOKEN) != (body is None):
                self._reply(405, {"errcode": 405, "errmsg": "method not allowed"})
                return
            time.sleep(fake._delays.get(endpoint, 0))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._reply(200, fake._answer(endpoint, query, body))

        def _reply(self, status, payload):
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller hung up (a test killed it mid-call)

        def log_message(self, *args):  # keep test output quiet
            pass

    return Handler
