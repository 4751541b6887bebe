"""The agent console: a Sanic app factory. Listeners fill app.ctx (Redis queue, SQL stores, Rasa
client, visitor link) at start and close them at stop; one blueprint per area; JSON errors."""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from pathlib import Path

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from bot import db
from bot.console.blueprints import analytics, auth, conversations, queue, tickets
from bot.console.sessions import Sessions, error, requires
from bot.console.users import Users, ensure_admin
from bot.console.visitor_link import VisitorLink
from bot.console.watcher import Watcher
from bot.handoff.mail import Mailer
from bot.handoff.queue import HandoffQueue
from bot.handoff.rasa_api import RasaApi
from bot.handoff.records import HandoffRecords
from bot.logsafe import loggable
from bot.orders.factory import make_backend
from bot.proxies import sanic_config
from bot.settings import Settings
from bot.touchpoints.analytics import Analytics
from bot.touchpoints.models import upgrade
from bot.touchpoints.privacy import erase_due, forget_customer, purge_older_than
from bot.touchpoints.writer import TouchpointWriter

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
APP_NAME = "shopbot_console"
SECURITY_HEADERS = {
    # no inline script, nothing from elsewhere: user text can never run as code here
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


RETENTION_EVERY_SECONDS = 6 * 3600
ERASURES_EVERY_SECONDS = 5.0


async def housekeeping(settings: Settings) -> None:
    """Carry out visitors' erasure requests every few seconds; drop touchpoints older than the retention
    period at start and every few hours."""
    purged_at, complained_at = -RETENTION_EVERY_SECONDS, -RETENTION_EVERY_SECONDS
    while True:
        try:
            for removed in await asyncio.to_thread(erase_due, settings.sql_url, settings.touchpoints_url,
                                                   settings.erasure_delay_seconds):
                logger.info("erasure request carried out: %s", removed)
        except Exception:  # the database is down: the requests wait; say so once a minute, not every 5 s
            if time.monotonic() - complained_at >= 60:
                complained_at = time.monotonic()
                logger.exception("erasure requests not carried out yet; will try again")
        if time.monotonic() - purged_at >= RETENTION_EVERY_SECONDS:
            try:
                await asyncio.to_thread(purge_older_than, settings.touchpoints_url, settings.touchpoint_retention_days)
                purged_at = time.monotonic()
            except Exception:
                logger.exception("touchpoint retention failed; will try again")
        await asyncio.sleep(ERASURES_EVERY_SECONDS)


def page(name: str) -> response.HTTPResponse:
    return response.html((HERE / "templates" / name).read_text(encoding="utf-8"))


def create_app(settings: Settings) -> Sanic:
    app = Sanic(APP_NAME)
    app.config.REQUEST_MAX_SIZE = settings.max_request_bytes
    app.config.RESPONSE_TIMEOUT = 3600  # the event stream stays open; pings keep it alive
    app.config.update(sanic_config(settings))  # behind a proxy: request.remote_addr and .scheme as it forwards them
    app.ctx.settings = settings
    for blueprint in (auth.bp, queue.bp, conversations.bp, tickets.bp, analytics.bp):
        app.blueprint(blueprint)
    app.static("/static", str(HERE / "static"), name="static")

    @app.before_server_start
    async def open_services(app: Sanic, _loop) -> None:
        redis_url = settings.redis.url(db=0)
        app.ctx.queue = HandoffQueue.from_url(redis_url)
        app.ctx.sessions = Sessions(app.ctx.queue.redis, settings.console_login_tries, settings.console_login_tries_per_address)
        app.ctx.users = Users(settings.sql_url)
        ensure_admin(app.ctx.users, settings.var_dir, settings.console_admin_password)  # a first admin, once
        app.ctx.records = HandoffRecords(settings.sql_url)
        app.ctx.mailer = Mailer.from_settings(settings)  # None: ticket answers are stored, not sent
        app.ctx.orders = make_backend(settings)
        app.ctx.rasa = RasaApi(settings.rasa_api_url, settings.rasa_token)
        app.ctx.link = VisitorLink(redis_url)
        app.ctx.touchpoints = TouchpointWriter(settings.touchpoints_url,
                                               spill=settings.var_dir / "console-touchpoints-pending.jsonl")
        app.ctx.touchpoints.start()
        upgrade(settings.touchpoints_url)
        app.ctx.analytics = Analytics(db.hold(settings.touchpoints_url))
        app.ctx.forget = functools.partial(forget_customer, settings.sql_url, settings.touchpoints_url)
        app.ctx.housekeeping = asyncio.get_event_loop().create_task(housekeeping(settings))
        watcher = Watcher(app.ctx.queue, app.ctx.link, app.ctx.rasa, settings.handoff_max_wait, settings.handoff_auto_assign,
                          app.ctx.touchpoints)
        app.ctx.watcher = asyncio.get_event_loop().create_task(watcher.run())

    @app.after_server_stop
    async def close_services(app: Sanic, _loop) -> None:
        app.ctx.watcher.cancel()
        app.ctx.housekeeping.cancel()
        db.release(app.ctx.analytics.engine)
        await app.ctx.touchpoints.close()
        await app.ctx.rasa.close()
        await app.ctx.queue.close()
        app.ctx.users.close()
        app.ctx.records.close()

    @app.middleware("response")
    async def security_headers(_request: Request, resp) -> None:
        if resp is not None:
            for key, value in SECURITY_HEADERS.items():
                resp.headers.setdefault(key, value)

    @app.exception(SanicException)
    async def sanic_error(request: Request, exc: SanicException):
        return error(getattr(exc, "status_code", 500) or 500, str(exc) or exc.__class__.__name__)

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception):
        logger.exception("console error on %s %s", request.method, loggable(request.path))
        return error(500, "something went wrong on our side; the log has the details")

    @app.get("/health")
    async def health(_: Request):
        return response.json({"status": "ok"})

    @app.get("/login")
    async def login_page(_: Request):
        return page("login.html")

    @app.get("/")
    @requires(page=True)
    async def console_page(_: Request):
        return page("console.html")

    return app


def serve(settings: Settings) -> None:
    app = create_app(settings)
    app.run(host=settings.host, port=settings.console_port, access_log=False, workers=1, motd=False)
