"""The ceiling: a bare Flask app that answers WeChat with `success` and does nothing else."""

from flask import Flask

app = Flask(__name__)


@app.post("/wechat")
def wechat():
    return "success"
