"""What the bot needs from a shop's order system, independent of where the data lives."""
from __future__ import annotations

import abc
import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import List, Optional

CANCELLABLE = ("pending", "paid", "packed")  # before shipping
OPEN = ("pending", "paid", "packed", "shipped")


class OrdersUnavailable(RuntimeError):
    """The order system could not be reached or did not answer in time; safe to tell the visitor."""


class AddressInvalid(ValueError):
    """A shipping address the carrier could not deliver to. `code` says what to fix (the visitor reads the
    domain's response for it, filled with `values`); the message is for the logs and the order API."""

    def __init__(self, code: str, message: str, **values: str) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class Address:
    name: str
    street: str
    postcode: str
    city: str
    country: str

    def one_line(self) -> str:
        return f"{self.name}, {self.street}, {self.postcode} {self.city}, {self.country}"


POSTCODE = {"DE": r"\d{5}", "AT": r"\d{4}", "CH": r"\d{4}", "NL": r"\d{4} ?[A-Z]{2}", "FR": r"\d{5}", "UK": r"[A-Z0-9 ]{5,8}"}


def validate_address(address: Address) -> Address:
    """Light checks a carrier would reject on: every field present, a house number, a postcode of the right shape."""
    fields = {k: (v or "").strip() for k, v in asdict(address).items()}
    missing = [k for k, v in fields.items() if not v]
    if missing:
        raise AddressInvalid("missing", f"the {', '.join(missing)} is missing", fields=", ".join(missing))
    if any(len(v) > 120 for v in fields.values()):
        raise AddressInvalid("too_long", "a part of the address is too long")
    if not re.search(r"\d", fields["street"]):
        raise AddressInvalid("no_house_number", "the street needs a house number")
    country = fields["country"].upper()
    if country not in POSTCODE:
        countries = ", ".join(sorted(POSTCODE))
        raise AddressInvalid("country", f"we deliver to {countries} only", countries=countries)
    if not re.fullmatch(POSTCODE[country], fields["postcode"].upper()):
        raise AddressInvalid("postcode", f"'{fields['postcode']}' is not a valid postcode for {country}",
                             postcode=fields["postcode"], country=country)
    return Address(fields["name"], fields["street"], fields["postcode"].upper(), fields["city"], country)


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Refund:
    amount: Decimal
    status: str
    requested_at: dt.datetime
    expected_at: Optional[dt.date]
    refunded_at: Optional[dt.datetime] = None


@dataclass(frozen=True)
class Order:
    number: str
    customer_id: str
    email: str
    status: str
    placed_at: dt.datetime
    total: Decimal
    currency: str
    items: List[Item]
    address: Address
    carrier: Optional[str] = None
    tracking_number: Optional[str] = None
    shipped_at: Optional[dt.datetime] = None
    delivered_at: Optional[dt.datetime] = None
    expected_delivery: Optional[dt.date] = None
    cancelled_at: Optional[dt.datetime] = None
    refund: Optional[Refund] = None
    invoice_number: Optional[str] = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def cancellation_fee(self, fee: Decimal) -> Decimal:
        """What cancelling costs now: free until packed, the shop's fee once packed (shop/facts.yml)."""
        return fee if self.status == "packed" else Decimal("0")


def is_late(order: Order, today: dt.date) -> bool:
    """Not delivered, cancelled or returned, and past the day it was expected: the visitor is owed an apology
    and the agent a flag. One rule for the bot and the console."""
    return order.is_open and order.expected_delivery is not None and order.expected_delivery < today


@dataclass(frozen=True)
class Customer:
    """The shop's customer record, for the agent: who a signed-in visitor is."""
    id: str
    name: str
    email: str


@dataclass(frozen=True)
class ChangeResult:
    """The outcome of a change request: done now, already done before (idempotent), or refused with why."""
    outcome: str  # "done" | "already" | "refused"
    order: Order
    reason: str = ""
    fee: Decimal = field(default=Decimal("0"))


class OrdersBackend(abc.ABC):
    """Every call may raise OrdersUnavailable; lookups return None for anything not found."""

    @abc.abstractmethod
    def order(self, number: str) -> Optional[Order]: ...

    @abc.abstractmethod
    def recent_orders(self, customer_id: str, limit: int = 5) -> List[Order]: ...

    @abc.abstractmethod
    def customer(self, customer_id: str) -> Optional[Customer]: ...

    @abc.abstractmethod
    def cancel(self, number: str, fee: Decimal) -> ChangeResult: ...

    @abc.abstractmethod
    def change_address(self, number: str, address: Address) -> ChangeResult: ...

    @abc.abstractmethod
    def request_refund(self, number: str, return_days: int) -> ChangeResult: ...

    def order_for(self, number: str, customer_id: Optional[str] = None, email: Optional[str] = None) -> Optional[Order]:
        """The order only if it belongs to this customer or this email; None otherwise, whatever the reason."""
        found = self.order(number)
        if found is None:
            return None
        if customer_id and found.customer_id == customer_id:
            return found
        if email and found.email.lower() == email.strip().lower():
            return found
        return None


COUNTRY_NAMES = {"germany": "DE", "deutschland": "DE", "austria": "AT", "österreich": "AT", "switzerland": "CH",
                 "schweiz": "CH", "netherlands": "NL", "france": "FR", "uk": "UK", "united kingdom": "UK"}


def parse_address(text: str, name: str, default_country: str) -> Address:
    """Read 'street and number, postcode city, country' as people type it (commas optional between postcode and city)."""
    parts = [p.strip() for p in (text or "").replace("\n", ",").split(",") if p.strip()]
    if not parts:
        raise AddressInvalid("empty", "it is empty")
    country = default_country
    last = parts[-1].lower()
    if len(parts) > 1 and (last in COUNTRY_NAMES or (len(last) == 2 and last.isalpha())):
        country = COUNTRY_NAMES.get(last, last.upper())
        parts = parts[:-1]
    if len(parts) == 2:  # "street 5, 10115 Berlin"
        street, rest = parts
        shape = POSTCODE.get(country.upper(), r"[A-Za-z0-9-]{3,8}")
        match = re.match(rf"^\s*({shape})\s+(\D.*)$", rest, re.IGNORECASE)
        if not match:
            raise AddressInvalid("no_postcode_city", "I need a postcode and a city after the street")
        postcode, city = match.group(1), match.group(2)
    elif len(parts) == 3:  # "street 5, 10115, Berlin"
        street, postcode, city = parts
    else:
        raise AddressInvalid("parts", "I need the street and number, postcode, city and country")
    return validate_address(Address(name, street, postcode, city, country))
