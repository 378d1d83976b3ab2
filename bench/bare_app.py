"""The ceiling: a bare Flask app that answers `success` and does nothing else, on the webhook's path and
the booking API's, so the benchmarks can drive it with the very requests they send Tongzhou."""

from flask import Flask

app = Flask(__name__)


@app.post("/wechat")
@app.post("/api/v1/bookings")
def success():
    return "success"
