"""Frustration signals in an agent's words: each label is data (labels.yml), each signal is shown once."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping

import yaml

LABELS_FILE = Path(__file__).resolve().parent / "labels.yml"
MESSAGE_PREFIX = "message:"  # conversation.py's stand-in for a message's score, named after its strongest sign


@functools.lru_cache(maxsize=1)
def _data(path: Path = LABELS_FILE) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def labels() -> Dict[str, str]:
    return {str(k): str(v) for k, v in _data()["signals"].items()}


def _base(name: str) -> str:
    return name[len(MESSAGE_PREFIX):] if name.startswith(MESSAGE_PREFIX) else name


def label(name: str) -> str:
    """'message:human' and 'human' both read "asks for a person"; a name without a label still reads as words."""
    return labels().get(_base(name)) or _base(name).replace("_", " ")


def quotes(name: str) -> bool:
    """Whether a signal's evidence is the visitor's own words (shown as a quote) or a description of what happened."""
    return _base(name) not in set(_data().get("descriptions") or [])


def described(signals: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Signal dicts ({"name", "weight", "evidence"}) strongest first, each label once, with its label and
    whether its evidence is a quote."""
    shown: Dict[str, Dict[str, Any]] = {}
    for signal in sorted(signals, key=lambda s: -float(s.get("weight") or 0)):
        name = str(signal.get("name") or "")
        shown.setdefault(label(name), {**signal, "label": label(name), "quote": quotes(name)})
    return list(shown.values())
