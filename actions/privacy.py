"""Deleting an account: the how-to for everyone, and for a signed-in visitor the offer to erase their chats
(confirmed with yes/no like an order change; carried out by actions/changes.py and the console)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import verified_customer
from bot.logsafe import loggable
from bot.settings import get_settings
from bot.touchpoints.privacy import PrivacyUnavailable, request_erasure

logger = logging.getLogger(__name__)
ERASE = "erase"  # the pending_change kind


class ActionOfferErasure(Action):
    def name(self) -> str:
        return "action_offer_erasure"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        if not verified_customer(tracker):  # only the signed-in owner may erase, so anyone else gets the how-to
            dispatcher.utter_message(response="utter_delete_account")
            return []
        dispatcher.utter_message(response="utter_offer_erasure")
        return [SlotSet("pending_change", f"{ERASE}:"), SlotSet("confirming", True)]


async def erase_confirmed(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The visitor said yes: record the request for the console to carry out."""
    customer = verified_customer(tracker)
    if not customer:
        dispatcher.utter_message(response="utter_nothing_to_confirm")
        return
    try:
        await asyncio.to_thread(request_erasure, get_settings().sql_url, customer, tracker.sender_id)
    except PrivacyUnavailable as err:
        logger.error("%s", loggable(err))
        dispatcher.utter_message(response="utter_erasure_unavailable")
        return
    dispatcher.utter_message(response="utter_erasure_requested")
