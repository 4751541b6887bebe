"""Log injection: an id or error text from outside (a sender id with a newline and a fake log prefix) must
come out as one escaped, bounded log line, never as a forged line of its own."""
import asyncio
import io
import logging

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.logsafe import loggable
from bot.settings import ROOT

FORGED = "2024-01-01 00:00:00 INFO bot.console.app: admin signed in from 127.0.0.1"
SENDER = f"visitor\n{FORGED}\r\n\x1b[2K"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@pytest.fixture
def log_lines():
    """Every line our own loggers write, formatted as `python -m bot` formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(lambda record: record.name.split(".")[0] in ("bot", "actions"))
    root = logging.getLogger()
    root.addHandler(handler)
    before, root.level = root.level, logging.INFO
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


def forged(lines):
    return [line for line in lines if line.startswith(FORGED[:10]) or "\x1b" in line]


def test_loggable_is_one_bounded_escaped_line():
    shown = loggable(SENDER)
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown
    assert shown.startswith("'visitor\\n2024-01-01") and "\\x1b" in shown
    assert loggable("x" * 5000, limit=50) == repr("x" * 50) + "..."
    assert loggable("\udc80").encode("utf-8")  # a lone surrogate no longer breaks a UTF-8 log file
    assert loggable(None) == "'None'" and loggable(42) == "'42'"


def test_a_sender_id_with_a_newline_forges_no_line_in_the_action_server_log(log_lines, monkeypatch, lookup_redis):
    """A real action on a real (unreachable) orders database: the warning names the sender and the
    driver's multi-line error, each escaped."""
    import actions.base
    import actions.orders
    from actions.orders import ActionTrackOrder
    from bot.orders.sql import SqlOrders

    down = SqlOrders("postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    for module in (actions.base, actions.orders):
        monkeypatch.setattr(module, "backend", lambda: down)
    domain = Domain.load(str(ROOT / "domain")).as_dict()
    entities = [{"entity": "order_number", "value": "100482"}, {"entity": "email", "value": "a@example.com"}]
    message = {"text": "100482 a@example.com", "intent": {"name": "track_order", "confidence": 0.9},
               "entities": entities, "metadata": {}}
    tracker = Tracker(SENDER, {}, message, [{"event": "user", "text": message["text"], "parse_data": message}],
                      False, None, {}, "action_listen")
    asyncio.run(ActionTrackOrder().run(CollectingDispatcher(), tracker, domain))
    lines = log_lines()
    warning = [line for line in lines if "orders backend unavailable" in line]
    assert len(warning) == 1 and loggable(SENDER) in warning[0], lines
    assert forged(lines) == [] and len(lines) == 1, lines


def test_a_sender_id_with_a_newline_forges_no_line_in_the_touchpoint_log(log_lines, tmp_path):
    from bot.touchpoints.broker import TouchpointBroker

    broker = TouchpointBroker(f"sqlite:///{tmp_path / 'tp.db'}", "")
    # a value the mapper cannot read: the broker logs which conversation lost its touchpoint
    broker.publish({"event": "slot", "sender_id": SENDER, "name": "failed_lookups", "value": "many"})
    lines = log_lines()
    assert any(line.endswith(f"touchpoint for {loggable(SENDER)} not recorded") for line in lines), lines
    assert forged(lines) == [], lines
