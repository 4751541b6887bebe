"""Order actions on real domain and tracker fixtures, with a real (unreachable, seeded or in-memory) backend."""
import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.changes import ActionContinueOrderRequest
from actions.orders import ActionCancelOrder, ActionGetRefund, ActionOrderHistory, ActionTrackOrder
from actions.shipping import ActionAnswerShipping
from bot.identity import sign
from bot.orders import Address, Item, Order, OrdersBackend, factory
from bot.orders.seed import seed
from bot.orders.sql import SqlOrders
from bot.settings import ROOT, get_settings

pytestmark = pytest.mark.usefixtures("lookup_redis")  # failed lookups are counted in Redis


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain")).as_dict()


def tracker(text, entities=(), slots=None, intent="track_order", metadata=None, sender="visitor"):
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities),
               "metadata": metadata or {}}
    return Tracker(sender, slots or {}, message, [{"event": "user", "text": text, "parse_data": message}],
                   False, None, {}, "action_listen")


def run(action, t, domain):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, domain))
    return dispatcher.messages, events


@pytest.fixture
def use_backend(monkeypatch):
    def install(orders):
        monkeypatch.setattr(factory, "backend", lambda: orders)
        import actions.base
        import actions.changes
        import actions.orders
        for module in (actions.base, actions.orders, actions.changes):
            monkeypatch.setattr(module, "backend", lambda: orders)
        return orders
    return install


def test_order_system_down_is_said_and_the_conversation_goes_on(domain, use_backend):
    use_backend(SqlOrders("postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}))
    number = {"entity": "order_number", "value": "100482"}
    email = {"entity": "email", "value": "a@example.com"}
    messages, events = run(ActionTrackOrder(), tracker("100482 a@example.com", [number, email]), domain)
    assert [m["response"] for m in messages] == ["utter_orders_unavailable"]
    assert {"event": "slot", "name": "pending_request", "value": None, "timestamp": None} in events
    assert "utter_orders_unavailable" in domain["responses"]


def test_blocked_conversation_gets_no_lookup(domain, use_backend, tmp_path):
    shop = use_backend(SqlOrders(f"sqlite:///{tmp_path}/shop.db"))
    seed(shop)
    order = shop.order("100500")
    t = tracker("x", [{"entity": "order_number", "value": order.number}, {"entity": "email", "value": order.email}],
                slots={"failed_lookups": float(get_settings().order_lookup_max_failures)})
    messages, _ = run(ActionTrackOrder(), t, domain)
    assert [m["response"] for m in messages] == ["utter_lookups_blocked"]


def test_cancel_asks_before_acting(domain, use_backend, tmp_path):
    shop = use_backend(SqlOrders(f"sqlite:///{tmp_path}/shop.db"))
    seed(shop)
    with shop.session() as s:
        from bot.orders.sql import OrderRow
        number = s.query(OrderRow.number).filter(OrderRow.status == "paid").first()[0]
    order = shop.order(number)
    t = tracker("cancel", [{"entity": "order_number", "value": number}, {"entity": "email", "value": order.email}],
                intent="cancel_order")
    messages, events = run(ActionCancelOrder(), t, domain)
    assert messages[0]["response"] == "utter_confirm_cancel"  # the free one: utter_confirm_cancel_with_fee costs
    assert {"event": "slot", "name": "confirming", "value": True, "timestamp": None} in events
    assert shop.order(number).status == "paid"


TODAY = dt.date.today()


class MemoryOrders(OrdersBackend):
    """The backend interface over a handful of orders a test writes down."""

    def __init__(self, *orders: Order) -> None:
        self.orders = {o.number: o for o in orders}

    def order(self, number):
        return self.orders.get(number)

    def recent_orders(self, customer_id, limit=5):
        mine = [o for o in self.orders.values() if o.customer_id == customer_id]
        return sorted(mine, key=lambda o: o.placed_at, reverse=True)[:limit]

    def customer(self, customer_id):
        return None  # no customer records here: the actions never need one

    def cancel(self, number, fee):
        raise NotImplementedError

    change_address = request_refund = cancel


def order(number, status, item="Desk lamp", days_ago=10, **kw):
    placed = dt.datetime.combine(TODAY, dt.time(9)) - dt.timedelta(days=days_ago)
    shipped = dict(carrier="DHL", tracking_number=f"00340434{number}", shipped_at=placed + dt.timedelta(days=1),
                   expected_delivery=(placed + dt.timedelta(days=4)).date()) if status != "paid" else {}
    delivered = dict(delivered_at=placed + dt.timedelta(days=3)) if status == "delivered" else {}
    return Order(**{**dict(number=number, customer_id="C00007", email="anna@example.com", status=status, placed_at=placed,
                           total=Decimal("99.00"), currency="EUR", items=[Item("NW-1", item, 1, Decimal("99.00"))],
                           address=Address("Anna", "Hauptstraße 1", "10115", "Berlin", "DE"),
                           invoice_number=f"INV-{number}"), **shipped, **delivered, **kw})


def signature_of(customer):
    """The page's signed identity, as the widget sends it with every turn."""
    return {"customer": {"id": customer, "signature": sign(customer, get_settings().identity_secret)}}


def said(text, *entities, intent="track_order", signed=None, sender="visitor", **slots):
    """A visitor's turn; `signed`: the customer this turn's page signed in (the widget sends it every turn)."""
    found = [{"entity": name, "value": value} for name, value in entities]
    return tracker(text, found, slots=slots, intent=intent, metadata=signature_of(signed) if signed else {}, sender=sender)


def slot(events, name):
    return next(e["value"] for e in reversed(events) if e.get("event") == "slot" and e["name"] == name)


def test_a_late_order_gets_an_apology_its_tracking_link_and_an_offer_of_a_person(domain, use_backend):
    late = order("100841", "shipped", days_ago=9)  # expected 5 days ago, still on its way
    use_backend(MemoryOrders(late))
    t = said("where is order 100841? it should have arrived days ago", ("order_number", "100841"),
             verified_orders=["100841"])
    messages, events = run(ActionTrackOrder(), t, domain)
    assert [m["response"] for m in messages] == ["utter_order_late"]
    assert late.tracking_number in messages[0]["tracking_link"] and messages[0]["tracking_link"].startswith("https://")
    assert {"event": "followup", "name": "utter_offer_person_late_order", "timestamp": None} in events
    offer = domain["responses"]["utter_offer_person_late_order"][0]
    assert [b["payload"] for b in offer["buttons"]] == ["/affirm", "/deny"]


def test_an_order_due_later_gets_its_status(domain, use_backend):
    use_backend(MemoryOrders(order("100842", "shipped", days_ago=1)))
    messages, events = run(ActionTrackOrder(), said("where is it", verified_orders=["100842"], order_number="100842"),
                           domain)
    assert [m["response"] for m in messages] == ["utter_order_status_shipped"]
    assert not [e for e in events if e.get("event") == "followup"]


def customer_with_orders():
    return MemoryOrders(order("100901", "shipped", "Grey hoodie", days_ago=2),
                        order("100902", "delivered", "Running shoes", days_ago=6),
                        order("100903", "delivered", "Rain jacket", days_ago=8),
                        order("100904", "cancelled", "Yoga mat", days_ago=9),
                        order("100905", "delivered", "Winter coat", days_ago=200))


def test_a_refund_with_several_candidate_orders_asks_which_with_the_items(domain, use_backend):
    use_backend(customer_with_orders())
    # greeted with the order in flight (order_number), which cannot be refunded yet: the bot asks
    t = said("I want a refund", intent="get_refund", signed="C00007", order_number="100901")
    messages, events = run(ActionGetRefund(), t, domain)
    assert [m["response"] for m in messages] == ["utter_which_order"]
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert [t.split()[0] for t in titles] == ["#100901", "#100902", "#100903"]  # not the cancelled, not the old one
    assert "Running shoes" in titles[1]
    assert slot(events, "pending_request") == "action_get_refund"


def test_a_product_name_picks_the_order(domain, use_backend):
    use_backend(customer_with_orders())
    t = said("no, I mean the running shoes order", intent="inform", signed="C00007", order_number="100901",
             pending_request="action_get_refund")
    messages, events = run(ActionContinueOrderRequest(), t, domain)
    assert [m["response"] for m in messages] == ["utter_confirm_refund"] and messages[0]["number"] == "100902"
    assert slot(events, "pending_change") == "refund:100902"


def test_tracking_offers_neither_cancelled_nor_long_delivered_orders(domain, use_backend):
    use_backend(customer_with_orders())
    messages, _ = run(ActionTrackOrder(), said("Where is my order", signed="C00007"), domain)
    assert [m["response"] for m in messages] == ["utter_which_order"]
    offered = [b["payload"] for b in messages[0]["buttons"]]
    assert offered == [f'/track_order{{"order_number": "{n}"}}' for n in ("100901", "100902", "100903")]


def test_nothing_on_its_way_is_said_with_the_history(domain, use_backend):
    use_backend(MemoryOrders(order("100904", "cancelled", days_ago=3), order("100905", "delivered", days_ago=90)))
    messages, _ = run(ActionTrackOrder(), said("Where is my order", signed="C00007"), domain)
    assert [m["response"] for m in messages] == ["utter_no_order_on_its_way"] and "#100905" in messages[0]["lines"]
    assert not messages[0]["buttons"]


def test_the_one_fitting_order_is_taken(domain, use_backend):
    use_backend(MemoryOrders(order("100906", "shipped", days_ago=1), order("100904", "cancelled", days_ago=3)))
    messages, _ = run(ActionTrackOrder(), said("Where is my order", signed="C00007"), domain)
    assert [m["response"] for m in messages] == ["utter_order_status_shipped"]


def fold(slots, events):
    """The slots after the action's events, as Rasa would store them."""
    return {**slots, **{e["name"]: e["value"] for e in events if e.get("event") == "slot"}}


def test_a_guest_who_corrects_only_the_email_keeps_the_order_number(domain, use_backend):
    use_backend(MemoryOrders(order("100907", "shipped", days_ago=1)))
    first = said("where is order 100907, my email is anna@exmaple.com", ("order_number", "100907"),
                 ("email", "anna@exmaple.com"))
    messages, events = run(ActionTrackOrder(), first, domain)
    assert [m["response"] for m in messages] == ["utter_order_not_verified"]
    slots = fold({}, events)
    assert slots["order_number"] == "100907" and not slots.get("verified_orders")  # kept, not proven
    second = said("sorry, it's anna@example.com", ("email", "anna@example.com"), intent="inform", **slots)
    messages, events = run(ActionContinueOrderRequest(), second, domain)
    assert [m["response"] for m in messages] == ["utter_order_status_shipped"]
    assert fold(slots, events)["verified_orders"] == ["100907"]


def test_a_failed_pair_is_not_tried_again_without_a_correction(domain, use_backend):
    use_backend(MemoryOrders(order("100907", "shipped", days_ago=1)))
    _, events = run(ActionTrackOrder(), said("track 100907 x@example.com", ("order_number", "100907"),
                                             ("email", "x@example.com")), domain)
    slots = fold({}, events)
    messages, events = run(ActionTrackOrder(), said("where is my order", **slots), domain)
    assert [m["response"] for m in messages] == ["utter_ask_order_email"]
    assert fold(slots, events)["failed_lookups"] == 1


def test_a_guest_with_two_proven_orders_names_one_by_its_item(domain, use_backend):
    use_backend(MemoryOrders(order("100908", "shipped", "Desk lamp", days_ago=1),
                             order("100909", "paid", "Rain jacket", days_ago=1)))
    t = said("and the rain jacket?", verified_orders=["100908", "100909"], order_number="100908")
    messages, _ = run(ActionTrackOrder(), t, domain)
    assert [m["response"] for m in messages] == ["utter_order_status_paid"] and messages[0]["number"] == "100909"


def test_a_product_name_picks_the_one_fitting_order_among_those_with_that_item(domain, use_backend):
    orders = customer_with_orders()
    orders.orders["100910"] = order("100910", "delivered", "Running shoes", days_ago=300)  # long past returning
    use_backend(orders)
    t = said("no, I mean the running shoes order", intent="inform", signed="C00007", order_number="100901",
             pending_request="action_get_refund")
    messages, _ = run(ActionContinueOrderRequest(), t, domain)
    assert [m["response"] for m in messages] == ["utter_confirm_refund"] and messages[0]["number"] == "100902"


def test_when_will_my_order_arrive_gets_the_customers_order_and_its_expected_day(domain, use_backend):
    use_backend(customer_with_orders())
    t = said("when will my order get here", ("order_ref", "last"), intent="delivery_period", signed="C00007")
    messages, _ = run(ActionAnswerShipping(), t, domain)
    assert [m["response"] for m in messages] == ["utter_order_status_shipped"] and messages[0]["number"] == "100901"


def test_a_guest_asking_when_their_order_arrives_gets_the_usual_times_and_is_asked_for_the_order(domain, use_backend):
    use_backend(customer_with_orders())
    messages, events = run(ActionAnswerShipping(), said("when will my parcel arrive?", intent="delivery_period"), domain)
    assert [m["response"] for m in messages] == ["utter_delivery_period", "utter_ask_order_details"]
    assert slot(events, "pending_request") == "action_track_order"  # the order details that follow are tracked


@pytest.mark.parametrize("text", ["if I order my shoes today, when will they arrive?", "how long does delivery take"])
def test_a_delivery_time_question_before_ordering_gets_the_usual_times(text, domain, use_backend):
    use_backend(customer_with_orders())
    messages, _ = run(ActionAnswerShipping(), said(text, intent="delivery_period", signed="C00007"), domain)
    assert [m["response"] for m in messages] == ["utter_delivery_period"]


def test_a_signed_in_customer_naming_a_product_they_ordered_gets_that_orders_day(domain, use_backend):
    use_backend(customer_with_orders())
    t = said("when is the grey hoodie going to arrive", intent="delivery_period", signed="C00007")
    messages, _ = run(ActionAnswerShipping(), t, domain)
    assert [m["response"] for m in messages] == ["utter_order_status_shipped"] and messages[0]["number"] == "100901"


# -- issue 18, point 2: identity is the signature on this turn, not what the slots remember

def test_a_customer_id_left_in_the_slots_is_no_identity(domain, use_backend):
    """After the shop's logout the slots still name who was signed in (and new sessions carried them over)."""
    use_backend(customer_with_orders())
    remembered = said("show me my orders", intent="order_history", customer_id="C00007",
                      session_started_metadata=signature_of("C00007"))  # this turn's page signed nobody in
    messages, _ = run(ActionOrderHistory(), remembered, domain)
    assert [m["response"] for m in messages] == ["utter_ask_order_details"]
    messages, _ = run(ActionOrderHistory(), said("show me my orders", intent="order_history", signed="C00007"), domain)
    assert [m["response"] for m in messages] == ["utter_order_history"]


# -- issue 18, point 4: failed lookups are counted in Redis, where "/restart" and a new session cannot reset them

def fail_lookup(domain, number, email, sender):
    messages, _ = run(ActionTrackOrder(), said(f"track {number} {email}", ("order_number", number), ("email", email),
                                               sender=sender), domain)
    assert [m["response"] for m in messages] in (["utter_order_not_verified"], ["utter_lookups_blocked"])  # the last


def right_pair(domain, sender):
    """The lookup that would succeed: order 100911 with its owner's email."""
    t = said("track 100911 anna@example.com", ("order_number", "100911"), ("email", "anna@example.com"), sender=sender)
    return [m["response"] for m in run(ActionTrackOrder(), t, domain)[0]]


@pytest.fixture
def one_order(use_backend):
    use_backend(MemoryOrders(order("100911", "shipped", days_ago=1)))


def new_sender():
    return f"visitor-{uuid.uuid4().hex}"


def test_restarting_the_conversation_does_not_reset_its_failed_lookups(domain, one_order):
    sender = new_sender()
    for i in range(get_settings().order_lookup_max_failures):
        fail_lookup(domain, f"20000{i}", f"guess{i}@example.com", sender)
    assert right_pair(domain, sender) == ["utter_lookups_blocked"]  # no slots (as after /restart), same conversation


def test_guessing_one_emails_orders_is_capped_across_conversations(domain, one_order):
    for i in range(get_settings().order_lookup_max_failures_per_email_or_order):
        fail_lookup(domain, f"20001{i}", "Anna@Example.com " if i % 2 else "anna@example.com", new_sender())
    assert right_pair(domain, new_sender()) == ["utter_lookups_blocked"]


def test_guessing_one_orders_email_is_capped_across_conversations(domain, one_order):
    for i in range(get_settings().order_lookup_max_failures_per_email_or_order):
        fail_lookup(domain, "100911", f"guess{i}@example.com", new_sender())
    assert right_pair(domain, new_sender()) == ["utter_lookups_blocked"]


def test_new_conversations_from_one_address_share_its_failed_lookups(domain, one_order, monkeypatch, lookup_redis):
    from bot import redis_keys

    monkeypatch.setenv("ORDER_LOOKUP_MAX_FAILURES_PER_ADDRESS", "3")
    get_settings.cache_clear()

    def from_address(address):
        sender = new_sender()
        lookup_redis.set(redis_keys.WIDGET_SESSION_ADDRESS.format(session_id=sender), address)  # as the widget does
        return sender

    for i in range(3):
        fail_lookup(domain, f"20002{i}", f"guess{i}@example.com", from_address("203.0.113.7"))
    assert right_pair(domain, from_address("203.0.113.7")) == ["utter_lookups_blocked"]
    assert right_pair(domain, from_address("198.51.100.1")) == ["utter_order_status_shipped"]
