"""Widget sessions bound to who the page says the visitor is, and the metadata the bot gets with each message.

Session ids are random and come with a session token (HMAC of the id and of the signed-in customer, if any):
resuming a session, and so reading its history, needs the token and the same identity.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Dict

from bot.channels.frames import readable
from bot.identity import verified_customer_id

MAX_METADATA_BYTES = 2048
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # as secrets.token_urlsafe makes them
SESSION_TOKEN = re.compile(r"[0-9a-f]{64}")  # as session_token makes them (compare_digest refuses non-ASCII text)
MAX_NAME_CHARS = 80


def session_token(session_id: str, secret: str, customer_id: str = "") -> str:
    """Bound to who the page said the visitor was (an anonymous session's token is the id's alone), so a
    session never outlives its identity: logged out, the next person on this browser cannot resume it."""
    bound = f"{session_id}|{customer_id}" if customer_id else session_id
    return hmac.new(f"widget-session:{secret}".encode(), bound.encode(), hashlib.sha256).hexdigest()


def valid_session(session_id: Any, token: Any, secret: str, customer_id: str = "") -> bool:
    if not isinstance(session_id, str) or not isinstance(token, str) or not SESSION_ID.fullmatch(session_id):
        return False
    if not SESSION_TOKEN.fullmatch(token):
        return False
    return hmac.compare_digest(session_token(session_id, secret, customer_id), token)


def page_identity(data: Dict[str, Any], secret: str) -> str:
    """The signed-in customer the page sent with this frame (checked), or "" for anonymous."""
    customer = message_metadata(data, secret)["customer"]
    return customer["id"] if customer else ""


def page_metadata(data: Dict[str, Any]) -> Dict[str, Any]:
    """What the page sent along (Rasa clients use `customData` or `metadata`), bounded; {} if unreadable."""
    raw = data.get("metadata") or data.get("customData") or {}
    try:
        if isinstance(raw, str):
            raw = json.loads(raw[:MAX_METADATA_BYTES])
        if not isinstance(raw, dict) or len(json.dumps(raw, default=str)) > MAX_METADATA_BYTES:
            return {}
    except (ValueError, RecursionError):  # not JSON, or nested deeper than any page would
        return {}
    return raw


def message_metadata(data: Dict[str, Any], secret: str) -> Dict[str, Any]:
    """The metadata the bot gets: the channel and the page's customer, only if correctly signed, and only
    the fields the bot reads (the page's name for them cleaned: a lone surrogate cannot be stored)."""
    raw = page_metadata(data)
    customer_id = verified_customer_id(raw, secret)
    customer = None
    if customer_id is not None:
        given = raw["customer"] if isinstance(raw.get("customer"), dict) else raw
        customer = {"id": customer_id, "signature": given["signature"]}
        if isinstance(given.get("name"), str):
            customer["name"] = readable(given["name"])[:MAX_NAME_CHARS]
    return {"channel": "widget", "customer": customer, "customer_verified": customer is not None}
