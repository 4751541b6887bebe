"""The domain's responses as the domain files hold them, for code with no domain at hand (the agent console's
dates, the widget's notices): read once, on first use."""
from __future__ import annotations

import functools
from typing import Any, Mapping


@functools.lru_cache(maxsize=1)
def domain_responses() -> Mapping[str, Any]:
    import yaml

    from bot.settings import ROOT

    responses: dict = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return responses


def response_text(name: str) -> str:
    """The text of a response (its first variant) in the domain files."""
    return str(domain_responses()[name][0]["text"])
