"""Signed customer identity: the shop page signs its logged-in customer's id for the chat.

The signature is HMAC-SHA256(secret, customer_id) in hex, as Intercom's and Chatwoot's
identity verification do; the secret is shared by shop and bot (IDENTITY_SECRET) and
never reaches the browser. A forged, missing or malformed signature means anonymous.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any, Mapping, Optional

MAX_ID_LENGTH = 128
SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")  # hex of SHA-256; anything else is no signature (compare_digest
# raises TypeError on non-ASCII text)


def sign(customer_id: str, secret: str) -> str:
    return hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def verified_customer_id(metadata: Optional[Mapping[str, Any]], secret: str) -> Optional[str]:
    """The customer id from chat metadata if its signature is right, else None (anonymous)."""
    if not secret or not isinstance(metadata, Mapping):
        return None
    nested = metadata.get("customer")
    customer: Mapping[str, Any] = nested if isinstance(nested, Mapping) else metadata
    customer_id, signature = customer.get("id"), customer.get("signature")
    if not isinstance(customer_id, str) or not isinstance(signature, str):
        return None
    if not customer_id or len(customer_id) > MAX_ID_LENGTH or not SIGNATURE.fullmatch(signature):
        return None
    if not customer_id.isprintable():  # no control characters, no lone surrogates (which cannot even be signed)
        return None
    return customer_id if hmac.compare_digest(sign(customer_id, secret), signature.lower()) else None

