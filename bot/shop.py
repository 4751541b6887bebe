"""The shop's facts (shop/facts.yml) and the domain answers rendered from them."""
from __future__ import annotations

import functools
import string
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, cast

import yaml

from bot.settings import ROOT

FACTS_FILE = ROOT / "shop" / "facts.yml"
ANSWERS_DOMAIN_FILE = ROOT / "domain" / "answers.yml"
HEADER = (
    "# Generated from shop/facts.yml by `make domain`: edit that file, not this one.\n"
)


class ShopFactsError(ValueError):
    """shop/facts.yml is incomplete or an answer names a fact that does not exist."""


def load(path: Path = FACTS_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("facts"), dict) or not isinstance(data.get("answers"), dict):
        raise ShopFactsError(f"{path} needs two mappings, 'facts' and 'answers'")
    return data


def facts(path: Path = FACTS_FILE) -> Dict[str, object]:
    return load(path)["facts"]


def fill(template: str, values: Mapping[str, object]) -> str:
    """Fill {fact} placeholders, naming any fact the template asks for that is missing."""
    wanted = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = sorted(wanted - set(values))
    if missing:
        raise ShopFactsError(f"answer {template[:40]!r}... uses unknown facts: {', '.join(missing)}")
    return template.format(**values)


def response_of(answer: object, values: Mapping[str, object]) -> Dict[str, object]:
    """An answer is its text, or its text and buttons: titles are filled like the text, payloads are kept as written."""
    if not isinstance(answer, Mapping):
        return {"text": fill(str(answer), values)}
    buttons = [{"title": fill(b["title"], values), "payload": b["payload"]} for b in answer.get("buttons") or []]
    return {"text": fill(answer["text"], values), **({"buttons": buttons} if buttons else {})}


def render_answers(path: Path = FACTS_FILE) -> str:
    data = load(path)
    responses = {name: [response_of(answer, data["facts"])] for name, answer in data["answers"].items()}
    domain = {"version": "3.1", "responses": responses}
    body = yaml.safe_dump(domain, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def write_answers(path: Path = FACTS_FILE, out: Path = ANSWERS_DOMAIN_FILE) -> bool:
    """Write domain/answers.yml; returns whether it changed (so training is not re-triggered needlessly)."""
    text = render_answers(path)
    if out.exists() and out.read_text(encoding="utf-8") == text:
        return False
    out.write_text(text, encoding="utf-8")
    return True


@functools.lru_cache(maxsize=1)
def cached_facts() -> Dict[str, object]:
    """The facts for a running process (actions read them on every turn)."""
    return facts()


def shipping_zone(country: str, values: Mapping[str, object]) -> Optional[Dict[str, object]]:
    """The zone of shop/facts.yml's shipping_zones that holds this country (its English name), or None."""
    for zone in cast(List[Dict[str, Any]], values.get("shipping_zones") or []):
        if country.lower() in (c.lower() for c in zone.get("countries") or []):
            return zone
    return None
