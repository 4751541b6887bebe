"""Journey stage of a touchpoint, from the mapping in journey.yml."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, FrozenSet, Optional, Set, TypedDict

import yaml

from bot.touchpoints.models import STAGES

JOURNEY_FILE = Path(__file__).resolve().parent / "journey.yml"


class Journey(TypedDict):
    """journey.yml, read: stage by intent, by event type and by intent prefix; what keeps the stage; the default."""
    intents: Dict[str, str]
    keep: Set[str]
    events: Dict[str, str]
    prefixes: Dict[str, str]
    default: str


@functools.lru_cache(maxsize=2)
def _mapping(path: Path = JOURNEY_FILE) -> Journey:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_intent = {intent: stage for stage, intents in data["stages"].items() for intent in intents}
    unknown = set(data["stages"]) | set(data["events"].values()) | set(data["prefixes"].values()) | {data["default"]}
    if not unknown <= set(STAGES):
        raise ValueError(f"{path}: unknown stages {sorted(unknown - set(STAGES))}; use {', '.join(STAGES)}")
    return {"intents": by_intent, "keep": set(data.get("keep") or ()), "events": data["events"],
            "prefixes": data["prefixes"], "default": data["default"]}


def stage_for(intent: Optional[str], kind: str = "message", last_stage: Optional[str] = None) -> str:
    """An event type with its own stage wins; then the intent. What says nothing about the journey (a `keep`
    intent or type) keeps the stage so far, or starts at the first; so does a bot or agent turn without an
    intent, or falls back to the default stage."""
    mapping = _mapping()
    if kind in mapping["events"]:
        return mapping["events"][kind]
    if kind in mapping["keep"] or intent in mapping["keep"]:
        return last_stage or STAGES[0]
    if intent:
        if intent in mapping["intents"]:
            return mapping["intents"][intent]
        for prefix, stage in mapping["prefixes"].items():
            if intent.startswith(prefix):
                return stage
        return mapping["default"]
    return last_stage or mapping["default"]


def neutral() -> FrozenSet[str]:
    """Intents and types that say nothing about where the visitor is (journey.yml's `keep`)."""
    return frozenset(_mapping()["keep"])
