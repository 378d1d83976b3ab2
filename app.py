"""Tongzhou's Flask application: `create_app()` for tests and tools, `app` for `gunicorn app:app`,
and `python app.py` to serve on $HOST:$PORT."""

import logging
import sys

from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import logs, store
from bot.bookings import slots
from bot.config import Config, ConfigError, use
from knowledge.charity import CharityError
from knowledge.handbook import HandbookError
from knowledge.intents import UtteranceDataError
from knowledge.offices import OfficeDataError

MAX_BODY_BYTES = 64 * 1024  # WeChat's messages are a few KB; anything near this is hostile


def create_app(config: Config | None = None) -> Flask:
    config = use(config or Config.from_env())
    logs.setup()
    store.connect_for(config)

    app = Flask(__name__)
    app.json = _JSONProvider(app)
    app.config["TONGZHOU"] = config
    slots.configured_rules()  # read and validate the booking settings now: a bad one stops start-up
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    if config.proxy_hops:
        # Behind nginx: take the client's address from X-Forwarded-For, so per-IP limits see people.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops)
        # X-Forwarded-For is believed from whoever connects: only the proxy may be able to.
        logging.getLogger(__name__).warning(
            "PROXY_HOPS=%d: client addresses are read from X-Forwarded-For; bind the app to 127.0.0.1 "
            "(HOST=127.0.0.1, the default) so that only the proxy can reach it",
            config.proxy_hops,
        )

    _load_knowledge(config)

    from bot.web import metrics, pages, webhook
    from bot.web.api import bookings as bookings_api
    from bot.web.api import faq as faq_api
    from bot.web.api import nlu as nlu_api

    for blueprint in (
        metrics.blueprint,
        bookings_api.blueprint,
        faq_api.blueprint,
        nlu_api.blueprint,
        pages.blueprint,
    ):
        app.register_blueprint(blueprint)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        # Short plain answers: never Werkzeug's HTML page, never a stack trace.
        return Response(error.name.lower(), status=error.code, mimetype="text/plain")

    def _store_unavailable(error: Exception):
        # Redis down, failing over, or not yet replicating: a retry soon will work (bookings are idempotent).
        app.logger.warning("store unavailable: %s", error)
        store.note_unavailable("web", error)
        return Response("系统繁忙，请稍后再试", status=503, mimetype="text/plain", headers={"Retry-After": "2"})

    for unavailable in store.UNAVAILABLE:
        app.register_error_handler(unavailable, _store_unavailable)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return Response("internal error", status=500, mimetype="text/plain")

    # /wechat is answered in front of Flask (bot/web/webhook.py says why); the rest goes on to Flask.
    app.wsgi_app = webhook.mount(app.wsgi_app, config, MAX_BODY_BYTES)
    return app


class _JSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        # Deeply nested JSON exhausts the parser's recursion: make it the ValueError that
        # `get_json(silent=True)` turns into None, so the APIs answer 400 instead of 500.
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _load_knowledge(config: Config) -> None:
    """Load and validate every data file now, so a bad file stops start-up rather than a chat."""
    from knowledge import charity, handbook, intents, offices

    charity.use_public_key(config.charity_public_key_file)
    offices.current()
    handbook.current()  # also initialises jieba once, with its cache in var/
    intents.current()  # trains the intent classifier from knowledge/utterances/ (well under a second)
    charity.current()  # a bad signature doesn't stop start-up: it disables account answers (and alarms)


def _stop(error: Exception):
    for line in str(error).splitlines():  # one line per setting at fault
        print(f"start-up error: {line}", file=sys.stderr)
    raise SystemExit(2) from None


def _app_or_exit(config: Config | None = None) -> Flask:
    try:
        return create_app(config)
    except (ConfigError, OfficeDataError, HandbookError, CharityError, UtteranceDataError) as error:
        _stop(error)


def __getattr__(name: str):
    # `gunicorn app:app` builds the app on first access, so importing create_app has no side effects.
    if name == "app":
        globals()["app"] = _app_or_exit()
        return globals()["app"]
    raise AttributeError(name)


def _first_run_lines(config: Config) -> list[str]:
    """What the dev server tells a newcomer: where everything is, and how to sign in to /admin."""
    base = f"http://{config.host}:{config.port}"
    lines = [f"同舟 listening on {base}/  (WeChat callback: {base}/wechat, web booking: {base}/book)"]
    if config.simulator_enabled:
        lines.append(f"Try it without WeChat: {base}/simulator")
        lines.append(f"Staff console: {base}/admin  user: admin  password: {config.admin_token}  (development only)")
    return lines


def _serve(argv=None) -> None:
    import argparse
    import secrets
    from dataclasses import replace

    parser = argparse.ArgumentParser(
        description="Serve Tongzhou with Flask's development server (production: gunicorn -c gunicorn.conf.py).",
        epilog="Settings come from the environment (README, Configuration): HOST, PORT, REDIS_URL, SIMULATOR, …",
    )
    parser.parse_args(argv)
    try:
        config = Config.from_env()
    except ConfigError as error:
        _stop(error)
    if config.simulator_enabled and not config.admin_token:
        # Development (`make run`): a fresh staff password for this run, printed below, so /admin
        # can be tried at once. It is the first admin's password while the store has no accounts.
        config = replace(config, admin_token=secrets.token_urlsafe(9))
    app = _app_or_exit(config)
    if config.scheduler_in_process:
        # Development only: reminders and notices run in a thread of this server, so the demo
        # needs no second command. Production runs `python -m scheduler` beside gunicorn.
        from scheduler import clock

        clock.start_in_process(config)
        print("scheduler: running inside this process (SCHEDULER_IN_PROCESS=1)", flush=True)
    print("\n".join(_first_run_lines(config)), flush=True)
    app.run(host=config.host, port=config.port)


if __name__ == "__main__":
    _serve()
