"""Order conversations through the running stack: signed-in customers, anonymous visitors, wrong owners."""
import datetime as dt
import random
import time

import pytest
import sqlalchemy as sa

from bot.identity import sign
from bot.orders.sql import ItemRow, OrderRow, RefundRow
from bot.shop import facts as shop_facts
from tests.integration.test_touchpoints_stack import wait_for_rows

NOT_VERIFIED = "I couldn't find an order with that number and email address"


def arrange(shop, status, **changes):
    """Put a random seeded order into the state a test needs (earlier runs may have changed it)."""
    now = dt.datetime.now().replace(microsecond=0)
    number = str(random.randint(100001, 101000))
    values = dict(status=status, cancelled_at=None, cancellation_fee=None, placed_at=now - dt.timedelta(days=3),
                  invoice_number=None if status == "pending" else f"INV-2026-{number}",
                  carrier=None, tracking_number=None, shipped_at=None, delivered_at=None, expected_delivery=None)
    if status in ("shipped", "delivered"):
        values.update(carrier="DHL", tracking_number=f"00340434{number}", shipped_at=now - dt.timedelta(days=1),
                      expected_delivery=(now + dt.timedelta(days=1)).date())
    if status == "delivered":
        values.update(delivered_at=now - dt.timedelta(days=1))
    values.update(changes)
    with shop.session.begin() as s:
        s.execute(sa.delete(RefundRow).where(RefundRow.order_number == number))
        s.execute(sa.update(OrderRow).where(OrderRow.number == number).values(**values))
    return shop.order(number)


def signed_in(chat, order, secret):
    chat.metadata = {"customer": {"id": order.customer_id, "signature": sign(order.customer_id, secret), "name": "Anna"}}


def test_a_signed_in_customer_is_greeted_with_the_order_in_flight(chat, shop, stack):
    order = arrange(shop, "shipped", placed_at=dt.datetime.now() - dt.timedelta(minutes=5))
    signed_in(chat, order, stack.settings.identity_secret)
    greeting = chat.say("hi")
    assert f"Your order #{order.number}" in greeting[0]["text"] and "shipped yesterday with DHL" in greeting[0]["text"]
    assert greeting[0]["buttons"][0]["payload"] == f'/track_order{{"order_number": "{order.number}"}}'
    answer = chat.text("where is my order?")
    assert order.tracking_number in answer and "DHL" in answer
    # the greeting is logged as the signed-in customer's touchpoint, though it comes before their first message
    rows = wait_for_rows(stack, chat.sender, {"order_lookup"})
    logged = next(r for r in rows if r["actor"] == "bot" and r["type"] == "message")
    assert f"#{order.number}" in logged["text"] and logged["customer_id"] == order.customer_id


def test_a_forged_signature_is_anonymous(chat, shop):
    order = arrange(shop, "shipped")
    chat.metadata = {"customer": {"id": order.customer_id, "signature": "0" * 64}}
    answer = chat.text(f"can you track order {order.number} for me")
    assert "email address you used" in answer and order.tracking_number not in answer


def test_an_anonymous_visitor_verifies_with_number_and_email(chat, shop):
    order = arrange(shop, "shipped")
    assert "order number" in chat.text("where is my package")
    assert "email address you used" in chat.text(f"it's {order.number}")
    answer = chat.text(order.email.upper())
    assert order.tracking_number in answer
    assert order.tracking_number in chat.text("track my order please")  # the order in context, no new questions


def test_wrong_email_unknown_order_and_someone_elses_order_look_the_same(chat, shop):
    mine, theirs = arrange(shop, "shipped"), arrange(shop, "delivered")
    while theirs.customer_id == mine.customer_id:  # two random orders can be one customer's (or one order)
        theirs = arrange(shop, "delivered")
    answers, times = [], []
    for number, email in [(mine.number, "not.me@example.com"), ("999999", mine.email), (theirs.number, mine.email)]:
        start = time.monotonic()
        answers.append(chat.text(f"track order {number} {email}"))
        times.append(time.monotonic() - start)
    assert answers == [answers[0]] * 3 and NOT_VERIFIED in answers[0]
    assert max(times) - min(times) < 0.3  # no timing tell (each failure takes the same minimum time)


def test_five_failures_block_lookups_for_the_conversation(chat, shop):
    order = arrange(shop, "shipped")
    for attempt in range(4):
        assert NOT_VERIFIED in chat.text(f"track order {order.number} guess{attempt}@example.com")
    assert "can't look up more orders" in chat.text(f"track order {order.number} guess5@example.com")
    # even the right email is refused now
    assert order.tracking_number not in chat.text(f"track order {order.number} {order.email}")


def test_cancel_before_shipping_states_the_fee_and_asks_first(chat, shop, stack):
    order = arrange(shop, "packed")
    signed_in(chat, order, stack.settings.identity_secret)
    question = chat.say(f"please cancel order {order.number}")
    assert "Shall I cancel" in question[-1]["text"] and "4.90 EUR" in question[-1]["text"]
    assert shop.order(order.number).status == "packed"  # nothing happens before the yes
    assert "is cancelled" in chat.text("/affirm")
    assert shop.order(order.number).status == "cancelled"
    assert "already cancelled" in chat.text(f"cancel order {order.number}")


def test_saying_no_keeps_the_order(chat, shop, stack):
    order = arrange(shop, "paid")
    signed_in(chat, order, stack.settings.identity_secret)
    assert "free" in chat.text(f"cancel my order {order.number}")
    assert "left order" in chat.text("no")
    assert shop.order(order.number).status == "paid"


def test_a_shipped_order_cannot_be_cancelled(chat, shop, stack):
    order = arrange(shop, "shipped")
    signed_in(chat, order, stack.settings.identity_secret)
    assert "can't be cancelled" in chat.text(f"cancel order {order.number}")
    assert shop.order(order.number).status == "shipped"


def test_address_change_through_a_validating_form(chat, shop, stack):
    order = arrange(shop, "paid")
    signed_in(chat, order, stack.settings.identity_secret)
    assert "new delivery address" in chat.text(f"i need to change the delivery address of order {order.number}")
    assert "house number" in chat.text("Lindenallee, 10115 Berlin, DE")
    assert "Shall I change" in chat.text("Lindenallee 5, 10115 Berlin, DE")
    assert "Done" in chat.text("/affirm")
    assert shop.order(order.number).address.street == "Lindenallee 5"


def test_refund_for_a_delivered_order(chat, shop, stack):
    order = arrange(shop, "delivered")
    signed_in(chat, order, stack.settings.identity_secret)
    assert "Shall I start the return" in chat.text(f"I want a refund for order {order.number}")
    assert "return for order" in chat.text("/affirm")
    assert "requested" in chat.text("where is my refund")
    assert shop.order(order.number).refund.status == "requested"


def test_invoice_summary_and_link(chat, shop, stack):
    order = arrange(shop, "delivered")
    signed_in(chat, order, stack.settings.identity_secret)
    answer = chat.text(f"send me the invoice for order {order.number}")
    assert order.invoice_number in answer and f"/{order.number}/invoice.pdf" in answer


def test_cancellation_fee_question_without_an_order_gets_the_policy(chat):
    answer = chat.text("is there a cancellation fee")
    assert "free before the order is packed" in answer


@pytest.mark.parametrize("text", ["'; DROP TABLE shop_orders; -- 100001", "order " + "1" * 4000, "📦 100001 ÄÖÜ"])
def test_bad_order_input_is_answered_and_harmless(chat, shop, text):
    assert chat.texts(f"track {text}")
    assert shop.order("100001") is not None


def test_the_order_placed_on_a_given_day(chat, shop, stack):
    yesterday = dt.datetime.now().replace(hour=9, minute=30, second=0, microsecond=0) - dt.timedelta(days=1)
    order = arrange(shop, "shipped", placed_at=yesterday)
    with shop.session.begin() as s:  # the customer's other orders were placed earlier: none yesterday, none newer
        s.execute(sa.update(OrderRow).where(OrderRow.customer_id == order.customer_id, OrderRow.number != order.number,
                                            OrderRow.placed_at >= yesterday.replace(hour=0, minute=0))
                  .values(placed_at=yesterday - dt.timedelta(days=30)).execution_options(synchronize_session=False))
    # greeted with this one; placed now, so today even just after midnight (30 minutes ago was yesterday then)
    newer = arrange(shop, "paid", placed_at=dt.datetime.now().replace(microsecond=0))
    with shop.session.begin() as s:
        s.execute(sa.update(OrderRow).where(OrderRow.number == newer.number)
                  .values(customer_id=order.customer_id, email=order.email))
    signed_in(chat, order, stack.settings.identity_secret)
    assert f"#{newer.number}" in chat.text("hello")  # now the newer order is the one in context
    assert order.tracking_number in chat.text("where is the order I placed yesterday")  # the date wins


def own_orders(shop, customer_id, *wanted):
    """Give a customer exactly these orders in flight or recent, each with the one item named; their other
    orders become old deliveries (nothing to track or refund)."""
    now = dt.datetime.now().replace(microsecond=0)
    old = now - dt.timedelta(days=300)
    with shop.session.begin() as s:
        theirs = sa.select(OrderRow.number).where(OrderRow.customer_id == customer_id)
        s.execute(sa.delete(RefundRow).where(RefundRow.order_number.in_(theirs)).execution_options(synchronize_session=False))
        s.execute(sa.update(OrderRow).where(OrderRow.customer_id == customer_id)
                  .values(status="delivered", placed_at=old, delivered_at=old, expected_delivery=old.date())
                  .execution_options(synchronize_session=False))
    orders = []
    for status, item, changes in wanted:
        order = arrange(shop, status, **changes)
        with shop.session.begin() as s:
            s.execute(sa.update(OrderRow).where(OrderRow.number == order.number)
                      .values(customer_id=customer_id, email=f"{customer_id.lower()}@example.com"))
            s.execute(sa.delete(ItemRow).where(ItemRow.order_number == order.number))
            s.add(ItemRow(order_number=order.number, sku="NW-T", name=item, quantity=1, unit_price=order.total))
        orders.append(shop.order(order.number))
    return orders


def test_a_late_order_gets_an_apology_its_tracking_link_and_a_person(chat, shop, nobody_on_shift):
    now = dt.datetime.now().replace(microsecond=0)
    order = arrange(shop, "shipped", shipped_at=now - dt.timedelta(days=7),
                    expected_delivery=(now - dt.timedelta(days=4)).date())
    assert "email address you used" in chat.text(f"where is order {order.number}? it should have arrived days ago")
    answer = chat.say(order.email)
    text = "\n".join(m.get("text", "") for m in answer)
    assert "I'm sorry" in text and "is late" in text and "should arrive by" not in text
    assert f"piececode={order.tracking_number}" in text  # the carrier's page for this parcel
    assert "get a person" in answer[-1]["text"] and [b["payload"] for b in answer[-1]["buttons"]] == ["/affirm", "/deny"]
    assert shop_facts()["support_email"] in chat.text("yes please")  # nobody on shift: how else to reach us


def test_a_refund_asks_which_order_and_a_product_name_picks_it(chat, shop, stack):
    day = dt.timedelta(days=1)
    now = dt.datetime.now().replace(microsecond=0)
    in_flight, shoes, jacket, cancelled = own_orders(
        shop, f"C{random.randint(1, 200):05d}",
        ("shipped", "Grey hoodie", dict(placed_at=now - day * 2)),
        ("delivered", "Running shoes", dict(placed_at=now - day * 6, delivered_at=now - day * 3)),
        ("delivered", "Rain jacket", dict(placed_at=now - day * 8, delivered_at=now - day * 5)),
        ("cancelled", "Yoga mat", dict(placed_at=now - day * 9, cancelled_at=now - day * 9)))
    signed_in(chat, in_flight, stack.settings.identity_secret)
    assert f"#{in_flight.number}" in chat.text("hi")  # greeted with the order in flight
    question = chat.say("I want a refund")
    assert "Which order" in question[-1]["text"]
    titles = [b["title"] for b in question[-1]["buttons"]]
    assert any("Running shoes" in t for t in titles) and any("Rain jacket" in t for t in titles)
    assert not any(cancelled.number in t for t in titles)
    answer = chat.text("no, I mean the running shoes order")
    assert f"Order #{shoes.number}" in answer and "Shall I start the return" in answer


def test_where_is_my_order_offers_only_orders_on_their_way(chat, shop, stack):
    now = dt.datetime.now().replace(microsecond=0)
    day = dt.timedelta(days=1)
    # placed over two weeks ago, so no greeting puts one of them in context
    shipped, paid, cancelled = own_orders(
        shop, f"C{random.randint(1, 200):05d}",
        ("shipped", "Desk lamp", dict(placed_at=now - day * 15, shipped_at=now - day * 14,
                                      expected_delivery=(now + day).date())),
        ("paid", "Linen shirt", dict(placed_at=now - day * 16)),
        ("cancelled", "Yoga mat", dict(placed_at=now - day * 15, cancelled_at=now - day * 15)))
    signed_in(chat, shipped, stack.settings.identity_secret)
    question = chat.say("where is my order")
    assert "Which order" in question[-1]["text"]
    assert [b["title"].split()[0] for b in question[-1]["buttons"]] == [f"#{shipped.number}", f"#{paid.number}"]


def test_a_guest_who_corrects_only_the_email_is_not_asked_for_the_number_again(chat, shop):
    order = arrange(shop, "shipped")
    assert NOT_VERIFIED in chat.text(f"where is order {order.number}, my email is {order.email}x")
    answer = chat.text(f"sorry, it's {order.email}")
    assert order.tracking_number in answer and "order number" not in answer


@pytest.mark.parametrize("text, expected", [
    ("do you ship to switzerland and how much does it cost", ["Switzerland", "non-EU", "19.90 EUR"]),
    ("delivery to Germany", ["Germany", "domestic", "4.90 EUR"]),
    ("how long does shipping to france take", ["France", "EU", "4 to 8 business days"]),
])
def test_shipping_answers_name_the_countrys_zone_and_price(chat, text, expected):
    answer = chat.text(text)
    assert all(part in answer for part in expected), answer
