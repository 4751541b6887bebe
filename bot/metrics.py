"""Every Prometheus metric, named once (as redis_keys names every key). Each process (a Rasa replica, the action
server, the console) counts its own and serves them at /metrics; Prometheus adds the replicas up.

Nothing here connects or starts anything: the objects only count in memory until a /metrics route renders them."""
from __future__ import annotations

from typing import Tuple

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)  # ours alone: no default process collectors twice per process

# the chat turn, on the Rasa side: a visitor message in, the bot's answers out
MESSAGES = Counter("shopbot_messages", "Messages seen, by channel and sender (visitor, bot, agent)",
                   ["channel", "sender"], registry=REGISTRY)
TURN_SECONDS = Histogram("shopbot_turn_seconds", "A visitor message to the bot's last answer of that turn",
                         ["channel"], registry=REGISTRY,
                         buckets=(0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30))
TURN_TIMEOUTS = Counter("shopbot_turn_timeouts", "Turns cut off at the turn budget (the visitor was told)",
                        ["channel"], registry=REGISTRY)
ACTION_SECONDS = Histogram("shopbot_action_seconds", "Custom action calls to the action server, by action",
                           ["action"], registry=REGISTRY, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
ACTION_TIMEOUTS = Counter("shopbot_action_timeouts", "Custom action calls that ran past their time",
                          ["action"], registry=REGISTRY)
LOCK_WAIT_SECONDS = Histogram("shopbot_lock_wait_seconds", "Waiting for a conversation's lock (another turn ran)",
                              registry=REGISTRY, buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30))
ERRORS = Counter("shopbot_errors", "Failures handled (the visitor or agent was told), by component and kind",
                 ["component", "kind"], registry=REGISTRY)

# the handoff side (the console sets these when scraped)
QUEUE_LENGTH = Gauge("shopbot_queue_length", "Conversations waiting for an agent", registry=REGISTRY)
AGENTS_ONLINE = Gauge("shopbot_agents_online", "Agents present in the console", registry=REGISTRY)
DEPENDENCY_UP = Gauge("shopbot_dependency_up", "1 when the last readiness check reached it", ["dependency"],
                      registry=REGISTRY)


def render() -> Tuple[bytes, str]:
    """The body and content type of a /metrics answer."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
