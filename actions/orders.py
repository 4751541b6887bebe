"""One action per order request; the finding and checking is in actions.base.OrderAction."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import Found, OrderAction, fee, return_days, with_address_decision
from bot import shop
from bot.orders import CANCELLABLE, Order
from bot.orders.base import Refund, is_late
from bot.orders.factory import backend
from bot.orders.present import cancel_terms, history_lines, money, status_values, tracking_link
from bot.orders.wording import Wording


def values(order: Order, wording: Wording) -> Dict[str, Any]:
    return status_values(order, shop.cached_facts(), wording)


STATUS_RESPONSES = {
    "pending": "utter_order_status_pending", "paid": "utter_order_status_paid", "packed": "utter_order_status_packed",
    "shipped": "utter_order_status_shipped", "delivered": "utter_order_status_delivered",
    "cancelled": "utter_order_status_cancelled", "returned": "utter_order_status_returned",
}
# too late to change: each status has its own words ("has shipped", "has been delivered"); the response without
# a suffix says {status_word} for any other status
CANNOT_CANCEL = {"shipped": "utter_cannot_cancel_shipped", "delivered": "utter_cannot_cancel_delivered",
                 "returned": "utter_cannot_cancel_returned"}
TOO_LATE_TO_CANCEL = {
    "shipped": "utter_cancellation_fee_for_order_too_late_shipped",
    "delivered": "utter_cancellation_fee_for_order_too_late_delivered",
    "returned": "utter_cancellation_fee_for_order_too_late_returned",
    "cancelled": "utter_cancellation_fee_for_order_too_late_cancelled",
}
TOO_LATE_TO_CHANGE = {"shipped": "utter_change_order_too_late_shipped", "delivered": "utter_change_order_too_late_delivered",
                      "returned": "utter_change_order_too_late_returned", "cancelled": "utter_change_order_too_late_cancelled"}
ADDRESS_TOO_LATE = {"shipped": "utter_cannot_change_address_shipped", "delivered": "utter_cannot_change_address_delivered",
                    "returned": "utter_cannot_change_address_returned", "cancelled": "utter_cannot_change_address_cancelled"}
CONFIRM_CANCEL = {"free": "utter_confirm_cancel", "fee": "utter_confirm_cancel_with_fee"}
CANCELLATION_FEE = {"free": "utter_cancellation_fee_for_order", "fee": "utter_cancellation_fee_for_order_with_fee"}
# why an order cannot be refunded (refund_refusal), as the answer to "refund it" and to "where is my refund"
CANNOT_REFUND = {"not_shipped": "utter_cannot_refund_not_shipped", "on_its_way": "utter_cannot_refund_on_its_way",
                 "cancelled": "utter_cannot_refund_cancelled", "too_late": "utter_cannot_refund_too_late"}
NO_REFUND = {"": "utter_no_refund", "not_shipped": "utter_no_refund_not_shipped", "on_its_way": "utter_no_refund_on_its_way",
             "cancelled": "utter_no_refund_cancelled", "too_late": "utter_no_refund_too_late"}


def status_response(order: Order) -> str:
    """The status answer for this order; a returned order's depends on whether its refund is recorded yet."""
    if order.status == "returned" and not order.refund:
        return "utter_order_status_returned_refund_pending"
    return STATUS_RESPONSES[order.status]


class ActionTrackOrder(OrderAction):
    intent = "track_order"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        if is_late(order, dt.date.today()):
            link = tracking_link(order, shop.cached_facts())
            dispatcher.utter_message(response="utter_order_late", tracking_link=link, **values(order, wording))
            return [FollowupAction("utter_offer_person_late_order")]  # its yes and no are rules
        dispatcher.utter_message(response=status_response(order), **values(order, wording))
        return []

    def nothing_fits(self, dispatcher: CollectingDispatcher, recent: List[Order], wording: Wording) -> Found:
        """Nothing on its way: say so with the history, rather than offer cancelled or long-delivered orders."""
        dispatcher.utter_message(response="utter_no_order_on_its_way", lines=history_lines(recent[:5], wording))
        return None, [SlotSet("pending_request", self.name())]


class ActionOrderHistory(OrderAction):
    intent = "order_history"

    def find_order(self, dispatcher: CollectingDispatcher, tracker: Tracker, customer: Optional[str],
                   wording: Wording) -> Found:
        if not customer:
            return super().find_order(dispatcher, tracker, customer, wording)
        recent = backend().recent_orders(customer, 5)
        if recent:
            dispatcher.utter_message(response="utter_order_history", lines=history_lines(recent, wording))
        else:
            dispatcher.utter_message(response="utter_no_orders")
        return None, [SlotSet("pending_request", None)]

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        dispatcher.utter_message(response="utter_order_history", lines=history_lines([order], wording))
        return []


class ActionCancelOrder(OrderAction):
    intent = "cancel_order"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        if order.status == "cancelled":
            dispatcher.utter_message(response="utter_order_already_cancelled", number=order.number)
            return []
        if order.status not in CANCELLABLE:
            dispatcher.utter_message(response=CANNOT_CANCEL.get(order.status, "utter_cannot_cancel"), **values(order, wording))
            return []
        terms, charged = cancel_terms(order, fee())
        dispatcher.utter_message(response=CONFIRM_CANCEL[terms], fee=money(charged, order.currency), **values(order, wording))
        return [SlotSet("pending_change", f"cancel:{order.number}"), SlotSet("confirming", True)]


class ActionCheckCancellationFee(OrderAction):
    intent = "check_cancellation_fee"
    ask_if_missing = False  # a general question gets the policy, not a request for details

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        terms, charged = cancel_terms(order, fee())
        response = CANCELLATION_FEE.get(terms) or TOO_LATE_TO_CANCEL.get(order.status,
                                                                         "utter_cancellation_fee_for_order_too_late")
        dispatcher.utter_message(response=response, number=order.number,
                                 fee=money(charged, order.currency), status_word=order.status)
        return []

    def handle_without_order(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
        dispatcher.utter_message(response="utter_check_cancellation_fee")
        return []


class ActionChangeOrder(OrderAction):
    intent = "change_order"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        if order.status in CANCELLABLE:
            response = "utter_change_order_possible"
        else:
            response = TOO_LATE_TO_CHANGE.get(order.status, "utter_change_order_too_late")
        dispatcher.utter_message(response=response, **values(order, wording))
        return []


class ActionChangeShippingAddress(OrderAction):
    """Checks the order may still be redirected; the rules then run address_form (data/rules/orders.yml)."""
    intent = "change_shipping_address"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        # at run level, so the order-system-down answer also tells the rules "no address form"
        return with_address_decision(await super().run(dispatcher, tracker, domain))

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        if order.status not in CANCELLABLE:
            dispatcher.utter_message(response=ADDRESS_TOO_LATE.get(order.status, "utter_cannot_change_address"),
                                     **values(order, wording))
            return []
        return [SlotSet("address_change_ok", True), SlotSet("new_address", None)]


class ActionGetInvoice(OrderAction):
    intent = "get_invoice"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        if not order.invoice_number:
            dispatcher.utter_message(response="utter_no_invoice_yet", number=order.number)
            return []
        link = f"{shop.cached_facts()['orders_url']}/{order.number}/invoice.pdf"
        dispatcher.utter_message(response="utter_invoice", invoice=order.invoice_number, link=link, **values(order, wording))
        return []


class ActionCheckInvoice(ActionGetInvoice):
    intent = "check_invoice"


class ActionGetRefund(OrderAction):
    intent = "get_refund"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        if order.refund:
            return ActionTrackRefund.tell(dispatcher, order, order.refund, wording)
        reason = refund_refusal(order)
        if reason:
            dispatcher.utter_message(response=CANNOT_REFUND[reason], number=order.number,
                                     return_days=return_days())
            return []
        dispatcher.utter_message(response="utter_confirm_refund", **values(order, wording))
        return [SlotSet("pending_change", f"refund:{order.number}"), SlotSet("confirming", True)]


def refund_refusal(order: Order) -> str:
    """Why this order cannot be refunded (a key of CANNOT_REFUND), or "" if it can."""
    days = return_days()
    if order.status in CANCELLABLE:
        return "not_shipped"
    if order.status == "shipped":
        return "on_its_way"
    if order.status == "cancelled":
        return "cancelled"
    if order.delivered_at and (dt.datetime.now() - order.delivered_at).days > days:
        return "too_late"
    return ""


class ActionTrackRefund(OrderAction):
    intent = "track_refund"

    @staticmethod
    def tell(dispatcher: CollectingDispatcher, order: Order, refund: Refund, wording: Wording) -> List[Dict[str, Any]]:
        paid_back = refund.refunded_at is not None
        dispatcher.utter_message(response="utter_refund_status_paid_back" if paid_back else "utter_refund_status",
                                 number=order.number, refund_status=refund.status,
                                 amount=money(refund.amount, order.currency),
                                 refund_day=wording.day(refund.refunded_at if paid_back else refund.expected_at))
        return []

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        if order.refund:
            return self.tell(dispatcher, order, order.refund, wording)
        dispatcher.utter_message(response=NO_REFUND[refund_refusal(order)], number=order.number,
                                 return_days=return_days())
        return []
