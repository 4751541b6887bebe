"""Rasa tracker events -> touchpoint rows. One TouchpointMapper per process keeps a little state per
conversation (when the visitor last spoke, who they are, the stage so far, the last agent)."""
from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union, cast

from bot.identity import verified_customer_id
from bot.touchpoints.journey import stage_for

ORDER_ACTIONS = {"action_track_order", "action_order_history", "action_cancel_order", "action_check_cancellation_fee",
                 "action_change_order", "action_change_shipping_address", "action_get_invoice", "action_check_invoice",
                 "action_get_refund", "action_track_refund"}
ACTION_TYPES = {"action_create_ticket": "ticket", "action_save_rating": "rating"}
QUIET_ACTIONS = {"action_listen", "action_session_start", "action_check_repeated_miss", "action_default_fallback",
                 "action_request_human", "action_unlikely_intent", "action_extract_slots"}
MAX_CONVERSATIONS = 50_000  # state kept for the most recent ones


@dataclass
class ConversationState:
    last_user_at: Optional[float] = None
    answered: bool = True
    customer_id: Optional[str] = None
    channel: str = ""
    stage: Optional[str] = None
    agent_id: Optional[str] = None
    slots: Dict[str, Any] = field(default_factory=dict)
    failed_lookups: int = 0
    replaying: bool = False  # action_session_start sets the carried-over slots again: not new events


def when(timestamp: Union[float, dt.datetime, None]) -> dt.datetime:
    """A row's time (naive UTC) from a Rasa event's timestamp, or as given (the demo data's clock), or now."""
    if isinstance(timestamp, dt.datetime):
        return timestamp
    ts = float(timestamp) if timestamp else dt.datetime.now(dt.timezone.utc).timestamp()
    return dt.datetime.utcfromtimestamp(ts)


def row(cid: str, kind: str, actor: str, state: ConversationState, at: Union[float, dt.datetime, None], *,
        intent: Optional[str] = None, confidence: Optional[float] = None, frustration: Optional[float] = None,
        latency_ms: Optional[int] = None, text: Optional[str] = None, agent_id: Optional[str] = None,
        **meta: Any) -> Dict[str, Any]:
    """A touchpoint row, the one place rows are built (the broker's, the console's and the demo data's); a
    visitor's row, a rating or a ticket moves the conversation's journey stage on."""
    stage = stage_for(intent, kind, state.stage)
    if actor == "visitor" or kind in ("rating", "ticket"):
        state.stage = stage
    # cut to their columns and cleaned by the writer (models.clean)
    return {"conversation_id": cid, "customer_id": state.customer_id, "channel": state.channel, "actor": actor,
            "agent_id": agent_id, "type": kind, "stage": stage, "intent": intent, "confidence": confidence,
            "frustration": frustration, "latency_ms": latency_ms, "text": text or None,
            "created_at": when(at), "meta": {k: v for k, v in meta.items() if v is not None}}


class TouchpointMapper:
    def __init__(self, identity_secret: str = "") -> None:
        self.secret = identity_secret
        self.states: OrderedDict[str, ConversationState] = OrderedDict()

    def state(self, cid: str) -> ConversationState:
        if cid in self.states:
            self.states.move_to_end(cid)
        else:
            self.states[cid] = ConversationState()
            while len(self.states) > MAX_CONVERSATIONS:
                self.states.popitem(last=False)
        return self.states[cid]

    def rows(self, event: Dict[str, Any]) -> List[Dict[str, Any]]:
        cid = event.get("sender_id")
        if not cid:
            return []
        kind = event.get("event")
        handler = getattr(self, f"_{kind}", None)
        return handler(cid, self.state(cid), event) if handler else []

    def _user(self, cid: str, s: ConversationState, e: Dict[str, Any]) -> List[Dict[str, Any]]:
        meta = e.get("metadata") or {}
        s.channel = e.get("input_channel") or meta.get("channel") or s.channel or ""
        customer = verified_customer_id(meta, self.secret) if self.secret else None
        s.customer_id = customer or s.customer_id
        parse = e.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        text = e.get("text") or ""
        frustration = (parse.get("frustration") or {}).get("score")
        s.last_user_at, s.answered = e.get("timestamp"), False
        typed = not text.startswith(("/", "EXTERNAL:"))
        out = [row(cid, "message" if typed else "intent", "visitor", s, e.get("timestamp"), intent=intent,
                   confidence=(parse.get("intent") or {}).get("confidence"), frustration=frustration,
                   text=meta.get("display_text") or text,
                   signals=[x.get("name") for x in (parse.get("frustration") or {}).get("signals") or []] or None)]
        if intent == "nlu_fallback":
            out.append(row(cid, "fallback", "system", s, e.get("timestamp"), intent=intent, text=text,
                           guess=((parse.get("intent_ranking") or [{}, {}])[1:2] or [{}])[0].get("name")))
        return out

    def _bot(self, cid: str, s: ConversationState, e: Dict[str, Any]) -> List[Dict[str, Any]]:
        agent = (e.get("metadata") or {}).get("agent")
        latency = None
        if not s.answered and s.last_user_at and e.get("timestamp"):
            latency = max(0, int((float(e["timestamp"]) - float(s.last_user_at)) * 1000))
            s.answered = True
        agent_id = agent.get("id") if isinstance(agent, dict) else None
        s.agent_id = agent_id or s.agent_id
        return [row(cid, "message", "agent" if agent_id else "bot", s, e.get("timestamp"), latency_ms=latency,
                    text=e.get("text"), agent_id=agent_id)]

    def _action(self, cid: str, s: ConversationState, e: Dict[str, Any]) -> List[Dict[str, Any]]:
        name = e.get("name") or ""
        if name == "action_listen":
            s.replaying = False
        if name in QUIET_ACTIONS or name.startswith(("utter_", "validate_")):
            return []
        if name in ORDER_ACTIONS:
            return [row(cid, "order_lookup", "bot", s, e.get("timestamp"), action=name)]
        if name == "action_save_rating":
            return []  # written when its slots arrive (see _slot)
        return [row(cid, ACTION_TYPES.get(name, "action"), "bot", s, e.get("timestamp"), action=name)]

    def _session_started(self, cid: str, s: ConversationState, e: Dict[str, Any]) -> List[Dict[str, Any]]:
        s.replaying = True
        return []

    def _slot(self, cid: str, s: ConversationState, e: Dict[str, Any]) -> List[Dict[str, Any]]:
        name, value = cast(str, e.get("name")), e.get("value")  # every slot event names its slot
        s.slots[name] = value
        if name == "customer_id" and value:
            s.customer_id = str(value)
        if name == "session_started_metadata" and self.secret:
            # set before action_session_start runs, whose greeting (its messages come before its slots) is
            # then already the signed-in customer's
            s.customer_id = verified_customer_id(value, self.secret) or s.customer_id
        if name == "failed_lookups":  # the state follows every value; a rise (not a replay) is a failed check
            failures, before = int(value or 0), s.failed_lookups
            s.failed_lookups = failures
            if failures > before and not s.replaying:
                return [row(cid, "verification", "bot", s, e.get("timestamp"), ok=False, failures=failures)]
            return []
        if s.replaying:
            return []
        if name == "handoff_reason" and value:
            return [row(cid, "handoff_requested", "visitor", s, e.get("timestamp"), reason=str(value))]
        if name == "verified_orders" and value:
            return [row(cid, "verification", "bot", s, e.get("timestamp"), ok=True)]
        if name == "nps" and value not in (None, "done") and s.slots.get("csat") not in (None, "done"):
            as_int = lambda v: int(v) if str(v).isdigit() else None  # noqa: E731
            return [row(cid, "rating", "visitor", s, e.get("timestamp"), agent_id=s.agent_id,
                        csat=as_int(s.slots.get("csat")), nps=as_int(value))]
        return []

    def _pause(self, cid: str, s: ConversationState, e: Dict[str, Any]) -> List[Dict[str, Any]]:
        return [row(cid, "handoff_queued", "system", s, e.get("timestamp"))]


def handoff_row(handoff: Any, kind: str, actor: str = "agent", agent_id: Optional[str] = None,
                **meta: Any) -> Dict[str, Any]:
    """A row the console writes about a handoff (claimed, transferred, handed back)."""
    state = ConversationState(customer_id=handoff.customer_id or None, channel=handoff.channel or "")
    return row(handoff.conversation_id, kind, actor, state, None, intent=None, agent_id=agent_id,
               frustration=handoff.frustration or None, reason=handoff.reason, team=handoff.team, **meta)


def ticket_row(ticket: Any, agent_id: str) -> Dict[str, Any]:
    """An agent answered a ticket."""
    state = ConversationState(customer_id=ticket.customer_id, channel="email")
    return row(ticket.conversation_id, "ticket", "agent", state, None, agent_id=agent_id, reference=ticket.reference,
               status=ticket.status)


def error_row(conversation_id: str, channel: str, what: str) -> Dict[str, Any]:
    """Something failed and the visitor was told (e.g. a message that got no answer)."""
    return row(conversation_id, "error", "system", ConversationState(channel=channel), None, error=what)
