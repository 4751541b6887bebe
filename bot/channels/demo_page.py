"""What the widget's endpoint serves over plain HTTP: widget.js, the socket.io client, and the demo shop page
(only in demo mode, signed in only for a request made on this machine)."""
from __future__ import annotations

import asyncio
import html
import json
import logging
from pathlib import Path
from typing import Any, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request

from bot.identity import sign
from bot.logsafe import loggable
from bot.orders import OrdersUnavailable
from bot.orders.factory import backend
from bot.orders.present import first_name
from bot.proxies import via_proxy
from bot.settings import Settings

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
TEMPLATES = Path(__file__).resolve().parent.parent / "console" / "templates"


def add_page_routes(blueprint: Blueprint, settings: Settings) -> None:
    """GET widget.js, socket.io.min.js and demo on the widget's blueprint (handlers made per blueprint)."""

    async def widget_js(_: Request) -> response.HTTPResponse:
        return await response.file(STATIC / "widget.js", headers={"Cache-Control": "public, max-age=300"})

    async def socketio_js(_: Request) -> response.HTTPResponse:
        return await response.file(STATIC / "vendor" / "socket.io.min.js",
                                   headers={"Cache-Control": "public, max-age=86400"})

    async def demo(request: Request) -> response.HTTPResponse:
        return await demo_response(settings, request)

    blueprint.route("/widget.js", methods=["GET"])(widget_js)
    blueprint.route("/socket.io.min.js", methods=["GET"])(socketio_js)
    blueprint.route("/demo", methods=["GET"])(demo)


def demo_login(settings: Settings, request: Request) -> Optional[str]:
    """The customer the demo page may sign in: any, from the query string, but only in demo mode (DEMO_MODE) and
    only for a request made on this machine. Through a proxy, signing would be public: anyone could sign in as
    anyone and read, change or erase their orders, so such a request gets the guest page."""
    customer_id = request.args.get("customer")
    if not settings.demo_mode or not customer_id or len(customer_id) > 32 or via_proxy(request, settings):
        return None
    return customer_id


def name_on_orders(customer_id: str) -> str:
    """The customer's first name as their latest order has it, as a shop page would show it ("" if unknown)."""
    try:
        latest = backend().recent_orders(customer_id, 1)
    except OrdersUnavailable as err:
        logger.warning("no name for demo customer %s: %s", loggable(customer_id), loggable(err))
        return ""
    return first_name(latest[0].address.name) if latest else ""


def demo_page(settings: Settings, customer_id: Optional[str] = None, name: str = "", can_sign_in: bool = True) -> str:
    """The demo shop page, signed in as `customer_id` (see demo_login) with the customer's own name."""
    config: Dict[str, Any] = {"title": "Northwind Goods help", "subtitle": "Nora, our assistant, answers right away"}
    login = '<a href="?customer=C00001">Log in as demo customer C00001</a>' if can_sign_in else "Guest"
    if customer_id:
        config["customer"] = {"id": customer_id, "signature": sign(customer_id, settings.identity_secret)}
        if name:
            config["customer"]["name"] = name
        shown = f"{html.escape(name)} ({html.escape(customer_id)})" if name else html.escape(customer_id)
        login = f'Logged in as {shown} &middot; <a href="?">log out</a>'
    # JSON inside <script>: "<" escaped so no value can close the tag
    config_js = json.dumps(config).replace("<", "\\u003c")
    page = (TEMPLATES / "demo.html").read_text(encoding="utf-8")
    return (page.replace("__CONFIG__", config_js).replace("__LOGIN__", login)
            .replace("__WIDGET_URL__", f"{settings.rasa_url}/webhooks/widget/widget.js"))


async def demo_response(settings: Settings, request: Request) -> response.HTTPResponse:
    """The demo page, only in demo mode: a production bot serves no made-up shop at its public address."""
    if not settings.demo_mode:
        return response.text("Not found: the demo page is on only in demo mode (DEMO_MODE=1)", status=404)
    customer = demo_login(settings, request)
    name = await asyncio.to_thread(name_on_orders, customer) if customer else ""
    return response.html(demo_page(settings, customer, name, can_sign_in=not via_proxy(request, settings)))
