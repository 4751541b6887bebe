"""After an agent hands back: the bot is back and asks for a rating once per conversation (CSAT, NPS, and after a
low one what went wrong), stored with the agent who had the chat."""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.handoff import singletons
from bot.handoff.queue import QueueUnavailable
from bot.handoff.records import RecordsUnavailable
from bot.logsafe import loggable

logger = logging.getLogger(__name__)

MAX_COMMENT = 2000
NO_COMMENT = {"skip", "no", "nope", "no thanks", "no thank you", "rather not", "pass", "nothing", "later", "none", ""}
SKIP_WORDS = ("skip", "no", "nope", "later", "don't", "dont", "rather not", "pass")


def rated() -> List[Dict[str, Any]]:
    """The slots of a conversation with its rating: the rating form, if it runs, finishes at once, silently."""
    return [SlotSet("csat", "done"), SlotSet("nps", "done"), SlotSet("rating_comment", None)]


def as_int(value: Any) -> Optional[int]:
    """A score slot as a number; None for "skipped", "done" or nothing."""
    return int(value) if isinstance(value, str) and value.isdigit() else None


def score_from(text: Optional[str], low: int, high: int) -> Optional[str]:
    """A number in range from what the visitor typed or clicked, 'skipped', or None if unreadable."""
    numbers = [int(n) for n in re.findall(r"\b\d{1,2}\b", text or "")]
    if numbers and low <= numbers[0] <= high:
        return str(numbers[0])
    lowered = (text or "").lower()
    if not numbers and any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in SKIP_WORDS):
        return "skipped"
    return None


def low_rating(csat: Any, nps: Any) -> bool:
    """CSAT 1-2 of 5 or NPS 0-6 of 10 (a detractor): worth asking what went wrong."""
    low_csat, low_nps = as_int(csat), as_int(nps)
    return (low_csat is not None and low_csat <= 2) or (low_nps is not None and low_nps <= 6)


class ActionHandoffFinished(Action):
    """An agent handed back: the bot is back, and asks for a rating unless this conversation has one."""

    def name(self) -> str:
        return "action_handoff_finished"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        dispatcher.utter_message(response="utter_handoff_finished")
        try:
            already_rated = bool(await asyncio.to_thread(singletons.records().rating, tracker.sender_id))
        except RecordsUnavailable as err:
            logger.warning("rating state of %s unknown, not asking: %s", loggable(tracker.sender_id), loggable(err))
            already_rated = True
        if already_rated:
            return rated()
        return [SlotSet("csat", None), SlotSet("nps", None), SlotSet("rating_comment", None)]


class ValidateRatingForm(FormValidationAction):
    """CSAT, then NPS, then, only after a low rating, what went wrong (free text)."""

    def name(self) -> str:
        return "validate_rating_form"

    async def required_slots(self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[str]:
        scores = ["csat", "nps"]
        return scores + ["rating_comment"] if low_rating(tracker.get_slot("csat"), tracker.get_slot("nps")) else scores

    async def extract_rating_comment(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "rating_comment":
            return {}
        text = (tracker.latest_message.get("text") or "").strip()
        declined = re.sub(r"[^\w' ]", "", text.lower()).strip() in NO_COMMENT
        return {"rating_comment": "skipped" if declined or not text else text[:MAX_COMMENT]}

    async def extract_csat(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "csat":
            return {}
        return {"csat": score_from(tracker.latest_message.get("text"), 1, 5) or "invalid"}

    async def extract_nps(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "nps":
            return {}
        return {"nps": score_from(tracker.latest_message.get("text"), 0, 10) or "invalid"}

    def validate_csat(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: DomainDict) -> Dict[str, Any]:
        if value == "invalid":
            dispatcher.utter_message(response="utter_rating_invalid", low=1, high=5)
            return {"csat": None}
        return {"csat": value}

    def validate_nps(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> Dict[str, Any]:
        if value == "invalid":
            dispatcher.utter_message(response="utter_rating_invalid", low=0, high=10)
            return {"nps": None}
        return {"nps": value}


class ActionSaveRating(Action):
    def name(self) -> str:
        return "action_save_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        csat, nps = tracker.get_slot("csat"), tracker.get_slot("nps")
        if csat == "done":  # rated earlier in this conversation
            return []
        comment = tracker.get_slot("rating_comment")
        comment = comment if isinstance(comment, str) and comment != "skipped" else None
        try:
            handoff = await singletons.queue().get(tracker.sender_id)
        except QueueUnavailable:
            handoff = None
        try:
            await asyncio.to_thread(singletons.records().save_rating, tracker.sender_id, as_int(csat), as_int(nps),
                                    handoff.agent_id if handoff else "", comment)
        except RecordsUnavailable as err:
            logger.error("rating of %s not stored: %s", loggable(tracker.sender_id), loggable(err))
        dispatcher.utter_message(response="utter_thanks_rating_comment" if comment else "utter_thanks_rating")
        return rated()
