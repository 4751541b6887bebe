"""Who is on the other end of a request, when a proxy (nginx, a load balancer) may stand in between.

Behind a proxy every request comes from the proxy's address, so per-address limits would cap the whole site.
A forwarded address is trusted only as the configured proxy passes it, with Sanic's own parsers and options:
PROXIES_COUNT (the last that many X-Forwarded-For entries were added by our proxies; we take the first of
those), REAL_IP_HEADER (a header the proxy sets), FORWARDED_SECRET (an RFC 7239 Forwarded header carrying the
secret only our proxy knows). Anything else a client sends is ignored. PROXIES_COUNT and REAL_IP_HEADER are
only as good as the rule that the bot is reachable through the proxy alone (bind it to loopback, publish no port).
"""
from __future__ import annotations

import ipaddress
import logging
from types import SimpleNamespace
from typing import List, Optional

from sanic.headers import parse_forwarded, parse_xforwarded
from sanic.request import Request

from bot.settings import Settings

logger = logging.getLogger(__name__)

FORWARDED_FOR_HEADER = "X-Forwarded-For"
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
_warned: List[bool] = []  # one hint per process that a proxy is in front but not configured


def sanic_config(settings: Settings) -> dict:
    """The proxy options as Sanic's config names them (for an app of ours: request.remote_addr, request.scheme)."""
    return {"PROXIES_COUNT": settings.proxies_count or None, "REAL_IP_HEADER": settings.real_ip_header or None,
            "FORWARDED_SECRET": settings.forwarded_secret or None, "FORWARDED_FOR_HEADER": FORWARDED_FOR_HEADER}


def _normalised(address: object) -> Optional[str]:
    try:
        parsed = ipaddress.ip_address(str(address).strip("[]"))
    except ValueError:
        return None
    mapped = getattr(parsed, "ipv4_mapped", None)
    return str(mapped or parsed)


def forwarded_address(request: Request, settings: Settings) -> Optional[str]:
    """The client's address as a configured proxy forwarded it, or None."""
    config = SimpleNamespace(**sanic_config(settings))
    found = parse_forwarded(request.headers, config) or parse_xforwarded(request.headers, config) or {}
    return _normalised(found["for"]) if "for" in found else None


def client_address(request: Optional[Request], settings: Settings) -> str:
    """The address to count a client against: forwarded by a configured proxy, else the connection's peer."""
    if request is None:
        return "unknown"
    address = forwarded_address(request, settings)
    if address:
        return counted(address)
    if not _warned and any(h in request.headers for h in PROXY_HEADERS) and not _trusts_a_proxy(settings):
        _warned.append(True)
        logger.warning("requests arrive through a proxy, but no proxy is configured: every visitor counts as %s "
                       "(set PROXIES_COUNT, REAL_IP_HEADER or FORWARDED_SECRET, see README)", _normalised(request.ip))
    peer = _normalised(request.ip)
    return counted(peer) if peer else "unknown"


def _trusts_a_proxy(settings: Settings) -> bool:
    return bool(settings.proxies_count or settings.real_ip_header or settings.forwarded_secret)


def _loopback_host(host: str) -> bool:
    """Is the Host header this machine's own name or loopback address (any port)?"""
    name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.rsplit(":", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def counted(address: str) -> str:
    """The address a per-address limit counts: IPv6 by its /64 (one subscriber's network hands out endless
    addresses within it), IPv4 as it is."""
    parsed = ipaddress.ip_address(address)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else address


def via_proxy(request: Request, settings: Settings) -> bool:
    """Whether the request may have come from elsewhere than this machine: through a proxy (any forwarding header,
    whether or not we trust it) or from another machine."""
    headers = PROXY_HEADERS + tuple(h.lower() for h in (settings.real_ip_header,) if h)
    if any(header in request.headers for header in headers):
        return True
    if not _loopback_host(request.headers.get("host") or ""):
        return True  # a proxy that adds no header (stunnel, ssh -L) still passes on the public name it was asked for
    peer = _normalised(request.ip)
    return peer is None or not ipaddress.ip_address(peer).is_loopback
