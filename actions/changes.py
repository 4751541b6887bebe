"""Resuming a request once the visitor gave the details, and carrying out or dropping a confirmed change."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import fee, owned_order, registry, return_days, verified_customer, with_address_decision
from actions.privacy import ERASE, erase_confirmed
from bot import shop
from bot.logsafe import loggable
from bot.orders import Address, AddressInvalid, OrdersUnavailable
from bot.orders.base import parse_address
from bot.orders.factory import backend
from bot.orders.present import money

logger = logging.getLogger(__name__)
CLEAR = [SlotSet("pending_change", None), SlotSet("confirming", False)]
ADDRESS_INVALID = {  # bot.orders.AddressInvalid.code: what to fix in the address the visitor typed
    "empty": "utter_address_invalid_empty", "missing": "utter_address_invalid_missing",
    "too_long": "utter_address_invalid_too_long", "no_house_number": "utter_address_invalid_no_house_number",
    "country": "utter_address_invalid_country", "postcode": "utter_address_invalid_postcode",
    "no_postcode_city": "utter_address_invalid_no_postcode_city", "parts": "utter_address_invalid_parts",
}


class ActionContinueOrderRequest(Action):
    """The visitor answered with an order number or email: carry on with what they asked for."""

    def name(self) -> str:
        return "action_continue_order_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        pending = tracker.get_slot("pending_request") or "action_track_order"
        action = registry().get(pending) or registry()["action_track_order"]
        return with_address_decision(await action().run(dispatcher, tracker, domain))


class ActionApplyPendingChange(Action):
    def name(self) -> str:
        return "action_apply_pending_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        if (tracker.get_slot("pending_change") or "").startswith(f"{ERASE}:"):
            await erase_confirmed(dispatcher, tracker)
            return CLEAR
        try:
            return await asyncio.to_thread(self._apply, dispatcher, tracker)
        except OrdersUnavailable as err:
            logger.warning("orders backend unavailable applying a change for %s: %s", loggable(tracker.sender_id), loggable(err))
            dispatcher.utter_message(response="utter_orders_unavailable")
            return CLEAR

    def _apply(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
        kind, _, number = (tracker.get_slot("pending_change") or "").partition(":")
        order = owned_order(tracker, number, verified_customer(tracker)) if number else None
        if order is None:
            dispatcher.utter_message(response="utter_nothing_to_confirm")
            return CLEAR
        facts = shop.cached_facts()
        if kind == "cancel":
            result = backend().cancel(number, fee())
            if result.outcome == "done":
                dispatcher.utter_message(response="utter_order_cancelled_with_fee" if result.fee else "utter_order_cancelled",
                                         number=number, fee=money(result.fee, order.currency),
                                         refund_days=facts["refund_days"])
            elif result.outcome == "already":
                dispatcher.utter_message(response="utter_order_already_cancelled", number=number)
            else:
                dispatcher.utter_message(response="utter_cannot_cancel", number=number, status_word=result.reason,
                                         return_days=facts["return_days"])
        elif kind == "refund":
            result = backend().request_refund(number, return_days())
            refund = result.order.refund
            if result.outcome in ("done", "already") and refund:
                dispatcher.utter_message(response="utter_refund_started", number=number, returns_url=facts["returns_url"],
                                         total=money(refund.amount, order.currency), expected=str(refund.expected_at))
            else:
                dispatcher.utter_message(response="utter_cannot_refund", number=number, reason=result.reason)
        elif kind == "address":
            address = Address(**json.loads(tracker.get_slot("new_address")))
            result = backend().change_address(number, address)
            response = {"done": "utter_address_changed", "already": "utter_address_unchanged"}.get(result.outcome)
            if response:
                dispatcher.utter_message(response=response, number=number, address=address.one_line())
            else:
                dispatcher.utter_message(response="utter_cannot_change_address", number=number, status_word=result.reason)
        return CLEAR + [SlotSet("address_change_ok", False)]


class ActionDropPendingChange(Action):
    def name(self) -> str:
        return "action_drop_pending_change"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        kind, _, number = (tracker.get_slot("pending_change") or ":").partition(":")
        if kind == ERASE:
            dispatcher.utter_message(response="utter_erasure_dropped")
        else:
            dispatcher.utter_message(response="utter_change_dropped", number=number)
        return CLEAR + [SlotSet("address_change_ok", False)]


class ValidateAddressForm(FormValidationAction):
    def name(self) -> str:
        return "validate_address_form"

    async def validate_new_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[str, Any]:
        number = tracker.get_slot("order_number")
        try:
            order = await asyncio.to_thread(owned_order, tracker, number, verified_customer(tracker))
        except OrdersUnavailable:
            dispatcher.utter_message(response="utter_orders_unavailable")
            return {"new_address": None, "requested_slot": None}
        if order is None:
            return {"new_address": None}
        try:
            address = parse_address(str(value or "")[:300], order.address.name, order.address.country)
        except AddressInvalid as err:
            dispatcher.utter_message(response=ADDRESS_INVALID[err.code], **err.values)
            return {"new_address": None}
        return {"new_address": json.dumps(address.__dict__)}


class ActionAskAddressConfirmation(Action):
    def name(self) -> str:
        return "action_ask_address_confirmation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        number, raw = tracker.get_slot("order_number"), tracker.get_slot("new_address")
        if not raw:
            return [SlotSet("address_change_ok", False)]
        address = Address(**json.loads(raw))
        dispatcher.utter_message(response="utter_confirm_address", number=number, address=address.one_line())
        return [SlotSet("pending_change", f"address:{number}"), SlotSet("confirming", True), SlotSet("address_change_ok", False)]

