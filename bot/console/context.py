"""What the console's app.ctx holds while it serves: the stores and clients its handlers use (queue, presence,
sessions, users, records, mail, orders, Rasa, the visitor link, the touchpoint writer, and the trainer's inbox,
change log, training jobs and models) and its background tasks
(the housekeeping of stored data, the handoff watcher). Opened before the server starts, closed after it stops."""
from __future__ import annotations

import asyncio
import functools

from sanic import Sanic

from bot import db
from bot.console.housekeeping import housekeeping
from bot.console.sessions import Sessions
from bot.console.users import Users, ensure_admin
from bot.console.visitor_link import VisitorLink
from bot.console.watcher import Watcher
from bot.handoff.mail import Mailer
from bot.handoff.presence import AgentPresence
from bot.handoff.queue import HandoffQueue
from bot.handoff.rasa_api import RasaApi
from bot.handoff.records import HandoffRecords
from bot.orders.factory import make_backend
from bot.settings import Settings
from bot.touchpoints.analytics import Analytics
from bot.touchpoints.models import upgrade
from bot.touchpoints.privacy import forget_customer
from bot.touchpoints.writer import TouchpointWriter
from bot.training.changes import TrainingChanges
from bot.training.inbox import Inbox
from bot.training.jobs import TrainingJobs
from bot.training.models import ModelStore
from bot.training.nlu_data import NluData


def open_services(app: Sanic, settings: Settings) -> None:
    """The stores and clients, in app.ctx."""
    redis_url = settings.redis.url()
    app.ctx.queue = HandoffQueue.from_url(redis_url)
    app.ctx.presence = AgentPresence(app.ctx.queue)
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
    upgrade(settings.touchpoints_url)  # the touchpoints' schema up to date before the dashboard queries it
    app.ctx.analytics = Analytics(db.hold(settings.touchpoints_url))
    app.ctx.forget = functools.partial(forget_customer, settings.sql_url, settings.touchpoints_url)
    open_training(app, settings)


def open_training(app: Sanic, settings: Settings) -> None:
    """The trainer's services (/train): the inbox, the change log over the NLU data, training jobs, the models."""
    app.ctx.inbox = Inbox(settings.touchpoints_url, settings.sql_url, settings.inbox_confidence, settings.inbox_days)
    app.ctx.changes = TrainingChanges(settings.sql_url, NluData(settings.train_data_dir, settings.train_domain_dir))
    app.ctx.jobs = TrainingJobs(settings)
    app.ctx.models = ModelStore(settings.models_dir, settings.sql_url, settings.activate_f1_margin)


def start_background(app: Sanic, settings: Settings) -> None:
    """The housekeeping loop and the handoff watcher, as tasks on the server's loop."""
    loop = asyncio.get_event_loop()
    app.ctx.housekeeping = loop.create_task(housekeeping(settings))
    watcher = Watcher(app.ctx.queue, app.ctx.link, app.ctx.rasa, settings.handoff_max_wait, settings.handoff_auto_assign,
                      app.ctx.touchpoints)
    app.ctx.watch = watcher
    app.ctx.watcher = loop.create_task(watcher.run())


def stop_background(app: Sanic) -> None:
    app.ctx.watch.stop()
    app.ctx.watcher.cancel()
    app.ctx.housekeeping.cancel()


async def close_services(app: Sanic) -> None:
    """The touchpoints still pending written, then every client and store closed."""
    db.release(app.ctx.analytics.engine)
    await app.ctx.touchpoints.close()
    await app.ctx.rasa.close()
    await app.ctx.queue.close()
    app.ctx.users.close()
    app.ctx.records.close()
    app.ctx.inbox.close()
    app.ctx.changes.close()
