"""Chat with the bot in a terminal, through the running server: each line you type becomes signed
WeChat XML posted to its /wechat (signed with the same WECHAT_TOKEN), and the reply is shown as a
person would read it. What you book here shows in that server's /admin.

    make run                       # in another terminal: the server
    python -m bot.console [--url http://127.0.0.1:5000] [--openid o_console_user]

Lines starting with "/" are WeChat actions: /click KEY, /scan SCENE, /location LAT LNG,
/subscribe, /summary (today's per-office summaries, once the scheduler has written them),
/nlu TEXT (what the language stage decides for TEXT, as the chat and POST /api/v1/nlu/parse do), /quit.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import date, datetime

from bot import store
from bot.bookings import summaries
from bot.chat import nlu
from bot.config import Config, ConfigError
from bot.wechat import simulate
from knowledge import offices


def _xml_for(line: str, openid: str) -> str | None:
    if not line.startswith("/"):
        return simulate.text(openid, line)
    command, *args = line[1:].split()
    if command == "click" and args:
        return simulate.click(openid, args[0])
    if command == "scan" and args:
        return simulate.scan(openid, args[0])
    if command == "location" and len(args) == 2:
        return simulate.location(openid, float(args[0]), float(args[1]))
    if command == "subscribe":
        return simulate.event(openid, "subscribe")
    return None


def summary_text(day: date) -> str:
    """The day's stored per-office summary as lines for the terminal."""
    stored = summaries.read(day)
    if not stored:
        return f"{day.isoformat()}：调度程序还没有生成这一天的汇总（它每天 {summaries.DAILY_AT:%H:%M} 生成）。"
    registry = offices.current()
    lines = [f"{day.isoformat()} 每日汇总"]
    for office_id, counts in sorted(stored.items()):
        office = registry.get(office_id)
        figures = "，".join(f"{title}{counts.get(name, 0)}" for name, title in summaries.FIELDS.items())
        lines.append(f"{office.name if office else office_id}：{figures}")
    return "\n".join(lines)


def nlu_text(text: str, now: datetime) -> str:
    """The language stage's decision for `text`, as one JSON line (the API's answer)."""
    return json.dumps(nlu.understand(text, now).to_json(), ensure_ascii=False)


def _lines():
    if not sys.stdin.isatty():
        yield from sys.stdin
        return
    while True:
        try:
            yield input("你> ")
        except EOFError:
            return


class NoServer(Exception):
    """Nothing answers at the console's --url."""


def post(url: str, config: Config, xml: str) -> str:
    """Send `xml` as WeChat would to the server at `url`; what the person would see of the reply."""
    query, body = simulate.signed(config, xml)
    try:
        with urllib.request.urlopen(f"{url}/wechat?{query}", data=body, timeout=10) as response:
            return simulate.readable(simulate.open_reply(config, response.read().decode())) or "（无回复）"
    except urllib.error.HTTPError as error:
        return f"[HTTP {error.code}]"
    except OSError as error:
        raise NoServer(url) from error


def main(argv=None) -> int:
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Actions: " + _actions())
    parser.add_argument("--url", default=f"http://{config.host}:{config.port}", help="the running server")
    parser.add_argument("--openid", default="o_console_user", help="the WeChat user you chat as")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    store.connect_for(config)  # /summary reads the store the scheduler writes
    print(f"同舟 console → {url} — type a message, /help for actions, /quit to leave.")
    for line in _lines():
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/summary":
            print(summary_text(datetime.now(config.tz).date()) + "\n")
            continue
        if line.startswith("/nlu "):
            print(nlu_text(line[len("/nlu ") :], datetime.now(config.tz)) + "\n")
            continue
        xml = _xml_for(line, args.openid)
        if xml is None:
            print(_actions())
            continue
        try:
            print(f"同舟> {post(url, config, xml)}\n")
        except NoServer:
            print(
                f"没有服务在 {url} 上运行。先在另一个终端启动：make run（或 python app.py），"
                "再运行本命令；服务在别处时用 --url 指定。",
                file=sys.stderr,
            )
            return 2
    return 0


def _actions() -> str:
    return __doc__.split("\n\n", 2)[2].strip()


if __name__ == "__main__":
    raise SystemExit(main())
