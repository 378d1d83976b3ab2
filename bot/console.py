"""Chat with the bot in a terminal, through the real pipeline: each line you type becomes signed
WeChat XML posted to the app's /wechat, and the reply is shown as a person would read it.

    python -m bot.console [--openid o_console_user]

Lines starting with "/" are WeChat actions: /click KEY, /scan SCENE, /location LAT LNG,
/subscribe, /summary (today's per-office summaries, once the scheduler has written them),
/nlu TEXT (what the language stage decides for TEXT, as the chat and POST /api/v1/nlu/parse do), /quit.
"""

import argparse
import json
import sys
from datetime import date, datetime

from app import create_app
from bot.bookings import summaries
from bot.chat import nlu
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openid", default="o_console_user", help="the WeChat user you chat as")
    args = parser.parse_args(argv)
    app = create_app()
    config = app.config["TONGZHOU"]
    client = app.test_client()
    print("同舟 console — type a message, /help for actions, /quit to leave.")
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
            print(__doc__.split("\n\n", 2)[2].strip())
            continue
        query, body = simulate.signed(config, xml)
        response = client.post(f"/wechat?{query}", data=body)
        shown = simulate.readable(simulate.open_reply(config, response.get_data(as_text=True)))
        print(f"同舟> {shown or '（无回复）'}\n" if response.status_code == 200 else f"[HTTP {response.status_code}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
