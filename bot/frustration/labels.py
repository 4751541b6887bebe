"""Frustration signals in an agent's words: each label is data (labels.yml), each signal is shown once."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping

import yaml

LABELS_FILE = Path(__file__).resolve().parent / "labels.yml"
MESSAGE_PREFIX = "message:"  # conversation.py's stand-in for a message's score, named after its strongest sign


@functools.lru_cache(maxsize=1)
def labels(path: Path = LABELS_FILE) -> Dict[str, str]:
    return {str(k): str(v) for k, v in yaml.safe_load(path.read_text(encoding="utf-8"))["signals"].items()}


def label(name: str) -> str:
    """'message:human' and 'human' both read "asks for a person"; a name without a label still reads as words."""
    base = name[len(MESSAGE_PREFIX):] if name.startswith(MESSAGE_PREFIX) else name
    return labels().get(base) or base.replace("_", " ")


def described(signals: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Signal dicts ({"name", "weight", "evidence"}) strongest first, each label once, with its label added."""
    shown: Dict[str, Dict[str, Any]] = {}
    for signal in sorted(signals, key=lambda s: -float(s.get("weight") or 0)):
        text = label(str(signal.get("name") or ""))
        shown.setdefault(text, {**signal, "label": text})
    return list(shown.values())
