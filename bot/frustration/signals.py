"""Score one message for frustration: pure Python rules over the lexicon in lexicon.yml.

score_message("this is ridiculous!!!") -> Frustration(score=0.72, signals=[anger, punctuation])
A score of FRUSTRATED_AT or more counts as frustrated. Loading the lexicon compiles it once per process.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import numpy as np
import yaml

from bot.frustration import blend
from bot.frustration.tone import FLOOR, tone
from bot.nlu.encoder import language_of

LEXICON_FILE = Path(__file__).resolve().parent / "lexicon.yml"
FRUSTRATED_AT = blend.FRUSTRATED_AT
SHOUTING_WEIGHT = 0.55
SHOUTED_WORD_WEIGHT = 0.25
PUNCTUATION_WEIGHT = 0.3
SARCASM_OPENER_WEIGHT = 0.55
COMPLAINT_WEIGHT = 0.25
INTENSIFIED = 1.2
DOWNTONED = 0.5
FUZZY_MIN_LENGTH = 6
MAX_TEXT = 2000
MASK_CHARS = "*#@$%!"
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "@": "a", "$": "s"})
WORD = re.compile(r"[a-z0-9*#@$%!']+")
REPEATED_PUNCT = re.compile(r"[!?]{3,}|\?!|!\?")


@dataclass(frozen=True)
class Signal:
    name: str
    weight: float
    evidence: str

    def as_dict(self) -> Dict[str, object]:
        return {"name": self.name, "weight": round(self.weight, 3), "evidence": self.evidence}


@dataclass
class Frustration:
    score: float
    signals: List[Signal] = field(default_factory=list)

    @property
    def frustrated(self) -> bool:
        return self.score >= FRUSTRATED_AT

    def as_dict(self) -> Dict[str, object]:
        return {"score": round(self.score, 3), "signals": [s.as_dict() for s in self.signals]}


def combine(weights: Iterable[float]) -> float:
    """Independent pieces of evidence: 1 - prod(1 - w)."""
    rest = 1.0
    for weight in weights:
        rest *= 1.0 - min(1.0, max(0.0, weight))
    return 1.0 - rest


def tone_weight(probability: Optional[float]) -> float:
    """The learned tone as evidence: nothing below FLOOR, then rising to 1. Its probabilities are calibrated on
    training data that is half frustrated; a chat is mostly calm, so only a clear reading counts."""
    if probability is None or probability < FLOOR:
        return 0.0
    return (probability - FLOOR) / (1.0 - FLOOR)


def _deletes(word: str) -> Set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _phrase_pattern(phrases: Iterable[str]) -> Optional[re.Pattern]:
    escaped = sorted((re.escape(p.lower()) for p in phrases), key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(escaped) + r")(?![a-z0-9])") if escaped else None


class Lexicon:
    def __init__(self, data: dict) -> None:
        self.weights: Dict[str, float] = {}
        self.words: Dict[str, Tuple[str, str]] = {}  # word -> (category, word)
        self.fuzzy: Dict[str, Tuple[str, str]] = {}  # one deletion away -> (category, word)
        self.phrases: List[Tuple[str, re.Pattern]] = []
        self.profanity: List[str] = []
        for name, category in data["categories"].items():
            self.weights[name] = float(category["weight"])
            for word in category.get("words") or []:
                word = str(word).lower()
                self.words[word] = (name, word)
                if name == "profanity":
                    self.profanity.append(word)
                if len(word) >= FUZZY_MIN_LENGTH:
                    for near in _deletes(word):
                        self.fuzzy.setdefault(near, (name, word))
            pattern = _phrase_pattern(category.get("phrases") or [])
            if pattern:
                self.phrases.append((name, pattern))
        self.neutralisers = _phrase_pattern(data.get("neutralisers") or [])
        self.intensifiers = {str(w).lower() for w in data.get("intensifiers") or []}
        self.downtoners = {str(w).lower() for w in data.get("downtoners") or []}
        self.negators = {str(w).lower() for w in data.get("negators") or []}
        self.openers = {str(w).lower() for w in data.get("sarcastic_openers") or []}
        self.problem_cues = {str(w).lower() for w in data.get("problem_cues") or []}
        self.acronyms = {str(w).lower() for w in data.get("acronyms") or []}
        self.gratitude = {str(w).lower() for w in data.get("gratitude") or []}

    def lookup(self, token: str) -> Optional[Tuple[str, str]]:
        if token in self.words:
            return self.words[token]
        if any(c in MASK_CHARS for c in token.strip(MASK_CHARS)):  # f*ck, sh!t: a mask inside a word
            masked = re.compile("^" + "".join("." if c in MASK_CHARS else re.escape(c) for c in token) + "$")
            for word in self.profanity:
                if masked.match(word):
                    return ("profanity", word)
            return None
        plain = token.translate(LEET)
        if plain != token and plain in self.words:
            return self.words[plain]
        if len(token) >= FUZZY_MIN_LENGTH - 1:  # one typo: a letter missing, extra or wrong
            if token in self.fuzzy:
                return self.fuzzy[token]
            for near in _deletes(token):
                if near in self.words and len(near) >= FUZZY_MIN_LENGTH:
                    return self.words[near]
                if near in self.fuzzy:
                    return self.fuzzy[near]
        return None


@functools.lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    return Lexicon(yaml.safe_load(path.read_text(encoding="utf-8")))


def _normalise(text: str) -> str:
    text = text[:MAX_TEXT].replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').lower()
    text = re.sub(r"([a-z])\1{2,}", r"\1\1", text)  # sooooo -> soo
    return re.sub(r"\s+", " ", text).strip()


def _shouting(raw: str, lex: Lexicon) -> List[Signal]:
    letters = [c for c in raw if c.isalpha()]
    words = [w for w in re.findall(r"[A-Za-z]{2,}", raw)]
    if not words:
        return []
    caps = [w for w in words if w.isupper() and w.lower() not in lex.acronyms]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) >= 0.7 and len(caps) >= 2:
        if any(w.lower() in lex.gratitude for w in words) and len(words) <= 3:
            return []  # "THANK YOU": loud, and glad
        return [Signal("shouting", SHOUTING_WEIGHT, raw[:60])]
    emphatic = [w for w in caps if len(w) >= 3]
    return [Signal("shouted_word", SHOUTED_WORD_WEIGHT, emphatic[0])] if emphatic else []


class Evidence(Dict[str, Signal]):
    """The signals found so far by name: the strongest piece of evidence for each (the first of equal weights)."""

    def add(self, name: str, weight: float, evidence: str) -> None:
        if name not in self or self[name].weight < weight:
            self[name] = Signal(name, min(1.0, weight), evidence[:60])


def _neutralised(norm: str, lex: Lexicon) -> Tuple[str, bool]:
    """The text without its neutralisers ("no problem"), and whether it had one."""
    if not lex.neutralisers:
        return norm, False
    return lex.neutralisers.sub(" ", norm), bool(lex.neutralisers.search(norm))


def _word_weight(tokens: List[str], i: int, category: str, lex: Lexicon) -> Optional[float]:
    """The weight of the lexicon word at tokens[i] as its neighbours shape it; None when negated ("not bad")."""
    before = tokens[max(0, i - 3):i]
    if any(t in lex.negators or t.endswith("n't") for t in before):
        return None  # "not bad", "isn't terrible"
    weight = lex.weights[category]
    if before and before[-1] in lex.intensifiers:
        return weight * INTENSIFIED
    if any(t in lex.downtoners for t in before):
        return weight * DOWNTONED  # "a bit annoyed"
    return weight


def _word_signals(norm: str, lex: Lexicon, found: Evidence) -> bool:
    """The lexicon's phrases and words, and a sarcastic opener; returns whether a lexicon word was negated."""
    negated = False
    for name, pattern in lex.phrases:
        match = pattern.search(norm)
        if match:
            found.add(name, lex.weights[name], match.group(0))
    tokens = WORD.findall(norm)
    for i, token in enumerate(tokens):
        hit = lex.lookup(token.strip("'!") if not any(c in "*#@$%" for c in token) else token)
        if hit is None:
            continue
        weight = _word_weight(tokens, i, hit[0], lex)
        if weight is None:
            negated = True
            continue
        found.add(hit[0], weight, token.strip("!?.,"))
    if tokens and tokens[0].strip("!.,") in lex.openers and any(t.strip("!.,?") in lex.problem_cues for t in tokens[1:]):
        found.add("sarcasm", SARCASM_OPENER_WEIGHT, " ".join(tokens[:4]))
    return negated


def _surface_signals(text: str, intent: Optional[str], lex: Lexicon, found: Evidence) -> None:
    """What the raw message shows beyond its words: capitals, "!!!", and a complaint intent."""
    for signal in _shouting(text[:MAX_TEXT], lex):
        found.add(signal.name, signal.weight, signal.evidence)
    punct = REPEATED_PUNCT.search(text)
    if punct:
        found.add("punctuation", PUNCTUATION_WEIGHT, punct.group(0))
    if intent == "complaint":
        found.add("complaint", COMPLAINT_WEIGHT, text)  # the words, for the agent (the intent's name says nothing)


def _tone_signal(text: str, vector: Optional[np.ndarray], calmed: bool, found: Evidence) -> Optional[float]:
    """Add the learned tone as a signal when it reads clearly; returns its probability (None for a button payload)."""
    payload = text.startswith("/")  # a button the visitor clicked: no tone to read
    probability = None if payload else tone(text[:MAX_TEXT], vector)
    weight = tone_weight(probability)
    if calmed and not found:
        weight *= DOWNTONED  # "I'm not angry, just asking": the encoder hears "angry", the lexicon hears "not"
    if weight > 0:
        found.add("tone", weight, text[:60])
    return probability


def _blended_score(model: blend.BlendModel, text: str, lexical: Dict[str, float], probability: float) -> float:
    """The blend's score, never below a plain sign (swearing, a threat, "third time") nor a loud one (capitals,
    "!!!") unless the message reads glad: "JUST GOT IT!!! LOVE IT" is left to the blend."""
    polarity = model.polarity(text[:MAX_TEXT])
    glad = model.glad(polarity)
    plain = combine(w for name, w in lexical.items() if not (glad and name in blend.LOUD))
    return max(plain, model.score(lexical, combine(lexical.values()), probability, polarity))


def score_message(text: str, intent: Optional[str] = None, lexicon: Optional[Lexicon] = None,
                  vector: Optional[np.ndarray] = None, learned_tone: bool = True, blended: bool = True) -> Frustration:
    """The lexicon's signals plus, where the language has one, the learned tone (tone.py): pass the message's
    sentence vector if the NLU pipeline computed it. The score is the blend of both and VADER (blend.py) where the
    language has one, else the signals combined; the signals are the evidence either way."""
    if not isinstance(text, str) or not text.strip():
        return Frustration(0.0)
    lex = lexicon or load_lexicon()
    # calmed: a neutraliser ("no problem") or a negated word ("not angry") was found
    norm, calmed = _neutralised(_normalise(text), lex)
    found = Evidence()
    calmed = _word_signals(norm, lex, found) or calmed
    _surface_signals(text, intent, lex, found)
    lexical = {name: s.weight for name, s in found.items() if name != "complaint"}  # what the blend learned from
    probability = _tone_signal(text, vector, calmed, found) if learned_tone else None
    signals = sorted(found.values(), key=lambda s: -s.weight)
    model = blend.load().get(language_of(text)) if blended and probability is not None else None
    if model is None:
        return Frustration(combine(s.weight for s in signals), signals)
    assert probability is not None  # a model is loaded only with a probability
    return Frustration(_blended_score(model, text, lexical, probability), signals)
