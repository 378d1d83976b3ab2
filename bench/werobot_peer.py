"""The peer bench/load.py measures Tongzhou against: a WeRoBot bot with a per-user session in the same
Redis (WeRoBot's RedisStorage), counting each user's messages there and answering with text.

Served as `gunicorn bench.werobot_peer:app` with REDIS_URL and WECHAT_TOKEN set. It is mounted on
Flask through werobot.contrib.flask, the framework Tongzhou and the bare app use, so the comparison
is of the bots' work and not of their web frameworks.
"""

import os

import redis
from flask import Flask
from werobot import WeRoBot
from werobot.contrib.flask import make_view
from werobot.session.redisstorage import RedisStorage

robot = WeRoBot(
    token=os.environ["WECHAT_TOKEN"],
    enable_session=True,
    session_storage=RedisStorage(redis.Redis.from_url(os.environ["REDIS_URL"]), prefix="werobot:"),
)


@robot.handler
def count_messages(message, session):
    session["messages"] = session.get("messages", 0) + 1
    return f"收到，这是您的第{session['messages']}条消息。"


app = Flask(__name__)
app.add_url_rule("/wechat", endpoint="werobot", view_func=make_view(robot), methods=["GET", "POST"])
