"""A deterministic demo shop: 200 customers and 1,000+ orders with realistic dates and statuses.

The same seed always gives the same shop, so tests and demos can name real order numbers.
Dates are relative to `today`, so "shipped yesterday" stays true for a demo run today.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Optional

from sqlalchemy.orm import Session

from bot.orders.sql import CustomerRow, ItemRow, OrderRow, RefundRow, SqlOrders

DEFAULT_SEED = 20261126
FIRST_ORDER_NUMBER = 100001
CUSTOMERS = 200
ORDERS = 1000

FIRST = ["Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Katrin", "Leon", "Mia",
         "Noah", "Olivia", "Paul", "Rosa", "Samuel", "Tara", "Umut", "Vera", "Willem", "Yara", "Zoe", "Amir", "Chen"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schulz",
        "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann", "Yilmaz"]
STREETS = ["Hauptstraße", "Schulstraße", "Gartenweg", "Bahnhofstraße", "Lindenallee", "Kirchplatz", "Bergstraße",
           "Rosenweg", "Am Markt", "Mühlenweg", "Ringstraße", "Waldstraße"]
CITIES = [("10115", "Berlin", "DE"), ("20095", "Hamburg", "DE"), ("80331", "München", "DE"), ("50667", "Köln", "DE"),
          ("60311", "Frankfurt", "DE"), ("70173", "Stuttgart", "DE"), ("1010", "Wien", "AT"), ("8001", "Zürich", "CH"),
          ("1012 AB", "Amsterdam", "NL"), ("04109", "Leipzig", "DE")]
PRODUCTS = [("NW-1001", "Merino wool jumper", "79.00"), ("NW-1002", "Canvas backpack", "59.00"),
            ("NW-1003", "Wireless headphones", "129.00"), ("NW-1004", "Linen shirt", "49.00"),
            ("NW-1005", "Running shoes", "99.00"), ("NW-1006", "Ceramic coffee mug", "14.00"),
            ("NW-1007", "Desk lamp", "45.00"), ("NW-1008", "Grey hoodie", "55.00"), ("NW-1009", "Rain jacket", "119.00"),
            ("NW-1010", "Coffee grinder", "69.00"), ("NW-1011", "Leather belt", "35.00"),
            ("NW-1012", "Wool socks (3 pairs)", "19.00"),
            ("NW-1013", "Winter coat", "189.00"), ("NW-1014", "Yoga mat", "39.00"), ("NW-1015", "Water bottle", "24.00"),
            ("NW-1016", "Phone case", "19.00"), ("NW-1017", "Blue dress", "89.00"), ("NW-1018", "Chino trousers", "65.00")]
CARRIERS = {"DHL": "00340434{:010d}", "DPD": "0150{:010d}", "UPS": "1Z999AA1{:010d}"}


def customer_id(index: int) -> str:
    return f"C{index:05d}"


def _status_for(age_days: int, rng: random.Random) -> str:
    """Older orders are mostly delivered; the last days hold the pending, paid, packed and shipped ones."""
    if age_days <= 1:
        return rng.choice(["pending", "paid", "paid", "packed"])
    if age_days <= 4:
        return rng.choice(["packed", "shipped", "shipped", "shipped", "cancelled"])
    if age_days <= 8:
        return rng.choice(["shipped", "delivered", "delivered", "delivered"])
    return rng.choices(["delivered", "cancelled", "returned"], weights=[86, 7, 7])[0]


def seed(orders: SqlOrders, today: Optional[dt.date] = None, seed_value: int = DEFAULT_SEED) -> int:
    """Create the schema and fill an empty shop; returns how many orders exist. Does nothing if already seeded."""
    orders.create_schema()
    with orders.session() as s:
        existing = s.query(OrderRow).count()
    if existing:
        return existing
    rng = random.Random(seed_value)
    now = dt.datetime.combine(today or dt.date.today(), dt.time(12, 0))
    with orders.session.begin() as s:
        people = [_customer(s, rng, i, now) for i in range(1, CUSTOMERS + 1)]
        for n in range(ORDERS):
            row, items = _order(rng, str(FIRST_ORDER_NUMBER + n), rng.choice(people), n, now)
            s.add(row)
            s.add_all(items)
    return ORDERS


def _customer(session: Session, rng: random.Random, i: int, now: dt.datetime) -> tuple:
    """A customer added to the session; returns who they are and where they live, for their orders."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first}.{last}{i}@example.com".lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    street = f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
    postcode, city, country = rng.choice(CITIES)
    session.add(CustomerRow(id=customer_id(i), email=email, name=f"{first} {last}",
                            created_at=now - dt.timedelta(days=rng.randint(30, 900))))
    return customer_id(i), email, f"{first} {last}", street, postcode, city, country


def _order(rng: random.Random, number: str, person: tuple, n: int, now: dt.datetime) -> tuple:
    """(order row, item rows) for one order of `person`, with the dates and details its status implies."""
    cid, email, name, street, postcode, city, country = person
    # most orders are old; a steady trickle is recent so there is always something in flight
    age = rng.randint(0, 10) if n % 8 == 0 else rng.randint(0, 365)
    placed = now - dt.timedelta(days=age, hours=rng.randint(0, 11), minutes=rng.randint(0, 59))
    status = _status_for(age, rng)
    lines = rng.sample(PRODUCTS, rng.choices([1, 2, 3, 4], weights=[50, 30, 15, 5])[0])
    items = [ItemRow(order_number=number, sku=sku, name=pname, quantity=rng.choice([1, 1, 1, 2]),
                     unit_price=Decimal(price)) for sku, pname, price in lines]
    subtotal = sum(i.unit_price * i.quantity for i in items)
    shipping = Decimal("0") if subtotal >= 50 else Decimal("4.90")
    row = OrderRow(number=number, customer_id=cid, email=email, status=status, placed_at=placed,
                   total=subtotal + shipping, currency="EUR", ship_name=name, ship_street=street,
                   ship_postcode=postcode, ship_city=city, ship_country=country)
    _progress(rng, row, status, placed, now)
    return row, items


def _progress(rng: random.Random, row: OrderRow, status: str, placed: dt.datetime, now: dt.datetime) -> None:
    """What happened to the order on its way to `status`: shipping, delivery, cancellation, invoice, refund."""
    if status in ("shipped", "delivered", "returned"):
        row.carrier = rng.choice(sorted(CARRIERS))
        row.tracking_number = CARRIERS[row.carrier].format(rng.randint(0, 10**10 - 1))
        row.shipped_at = placed + dt.timedelta(days=1, hours=rng.randint(1, 8))
        row.expected_delivery = (row.shipped_at + dt.timedelta(days=rng.randint(2, 3))).date()
    if status in ("delivered", "returned"):
        row.delivered_at = row.shipped_at + dt.timedelta(days=rng.randint(1, 4))
    if status == "cancelled":
        row.cancelled_at = placed + dt.timedelta(hours=rng.randint(1, 30))
        row.cancellation_fee = Decimal("0")
    if status not in ("pending", "cancelled"):
        row.invoice_number = f"INV-{placed.year}-{row.number}"
    if status == "returned":
        requested = row.delivered_at + dt.timedelta(days=rng.randint(1, 20))
        done = (now - requested).days > 10
        row.refund = RefundRow(amount=row.total, status="refunded" if done else "approved",
                               requested_at=requested, expected_at=(requested + dt.timedelta(days=14)).date(),
                               refunded_at=requested + dt.timedelta(days=8) if done else None)
