"""Personal data out of visitor messages before a trainer sees them: emails, order numbers, phone numbers and
person names become `[email]`, `[order]`, `[phone]` and `[name]`.

Order numbers and emails are what the NLU already recognises (bot.nlu.entities, the masking tokenizer), so
the classifier and the trainer see the same placeholders. Phones are digit runs that start like a phone
number (+, 00, 0, a US area code) and have 7 to 15 digits, or any such run after a cue ("call me on"); dates,
prices, times and order numbers are not phones (after a bare "call"/"ring"/"phone"/"reach me", 9 to 15 digits
are). Emails spelled out ("john dot smith at gmail dot com") are emails. Names come after cues ("my name is",
"I'm", "regards,"), are capitalised words in mid-sentence that the training data does not know (so DHL,
PayPal, Easter stay), common given names and surnames in any case anywhere, an unknown word opening a sentence
before "here" or a comma ("Kowalski here"), or a whole message of one or two unknown words ("kevin mueller").
`example_text` turns the placeholders into the sample values an example is written with.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, FrozenSet, List, Optional, Tuple

from bot.nlu.countries import find_countries
from bot.nlu.entities import DATE_PATTERNS, EMAIL, ORDER_NUMBER
from bot.training.nlu_data import SAMPLE_VALUES

EMAIL_MASK, ORDER_MASK, PHONE_MASK, NAME_MASK = "[email]", "[order]", "[phone]", "[name]"
PLACEHOLDER = re.compile(r"\[(?:email|order|phone|name)\]")
SAMPLES = {EMAIL_MASK: SAMPLE_VALUES["__email__"], ORDER_MASK: SAMPLE_VALUES["__order_number__"],
           PHONE_MASK: "+49 30 1234567",  # no 6-digit group: the tokenizer sees no order number in it
           NAME_MASK: "Alex"}
MAX_TEXT = 2000  # characters masked; the rest of a longer message is cut (a touchpoint keeps 500)

# a run that starts like a phone number: +49..., 0049..., 030..., (030)...; separators inside
PHONE_RUN = re.compile(r"(?<![\w+#])(?:\+|\(0|0)\d(?:[ \-./]?\(?\d+\)?)+")
US_PHONE = re.compile(r"(?<![\w+#])\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}(?!\d)")
PHONE_CUE = re.compile(r"\b(?:phone|tel|telephone|mobile|cell|whatsapp|call me|ring me|reach me|text me|number)"
                       r"\b(?:\s*(?:number|no\.?|is|at|on|:|-))*\s*(\+?\d[\d \-./()]{5,}\d)", re.IGNORECASE)
# "call 49 171 1234567": a bare call/ring/phone/reach me cue before a run of 9 to 15 digits
CALL_CUE = re.compile(r"\b(?:call|ring|phone|reach me)\b(?:\s*(?:me|us|on|at|:|-))*\s*(\+?\d[\d \-./()]{7,}\d)",
                      re.IGNORECASE)
# "john dot smith at gmail dot com": an email spelled out
SPELLED_EMAIL = re.compile(r"\b[^\W\d_][\w\-]*(?:\s*(?:\.|\bdot\b)\s*[\w\-]+)*\s+(?:at|@)\s+[\w\-]+"
                           r"(?:\s*(?:\.|\bdot\b)\s*[\w\-]+)*\s+dot\s+[a-z]{2,6}\b", re.IGNORECASE)
# "Anna here", "Schmidt, order 100482 missing": a word at a sentence's start followed by "here" or a comma
INTRODUCED = re.compile(r"\s*(?:here\b|,)", re.IGNORECASE)
PRICE = re.compile(r"^\d{1,3}(?:[.,]\d{3})*[.,]\d{2}$")

WORD = re.compile(r"[^\W\d_][\w'’\-]*")
TITLE_WORD = re.compile(r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[’'\-][A-ZÀ-ÖØ-Þa-zß-öø-ÿ][a-zß-öø-ÿ]*)*|Mc[A-Z][a-z]+")
STRONG_CUE = re.compile(r"\b(?:my name is|my name's|name is|name:|i am called|i'm called|call me|"
                        r"this is|signed|regards|sincerely|cheers|best wishes|greetings|thanks|thank you|"
                        r"i am|i'm|im|for|from|mr\.?|mrs\.?|ms\.?|dr\.?)\s*[,:]?\s+$", re.IGNORECASE)
# after these a following word is a name even lowercase or known ("my name is will")
SURE_CUE = re.compile(r"\b(?:my name is|my name's|name:|i am called|i'm called|signed|mr\.?|mrs\.?|ms\.?|dr\.?)"
                      r"\s*[,:]?\s+$", re.IGNORECASE)
SIGN_OFF = re.compile(r"\b(?:regards|sincerely|cheers|best|thanks|thank you|thx|ta|greetings|bye)\s*[,.!]*\s*"
                      r"((?:[^\W\d_][\w'’\-]*\s*){1,3})[.!]*\s*$", re.IGNORECASE)
SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*|[\"(]\s*)$")
# common words that also follow a cue and are never names ("I'm waiting", "this is ridiculous", "for Christmas")
NOT_NAMES = frozenset("""a an the and or but not no yes so to of on in at by it is be my me i you your our we
this that there here what when where why how please still just very really also again now today tomorrow
sure sorry afraid looking waiting trying asking writing calling back happy unhappy fine ok okay good new
interested going about mr mrs ms dr miss sir madam regards sincerely cheers best thanks thx greetings bye hi hey
hello dear""".split())
# given names and surnames that appear in the training data's examples: known words, but names all the same
COMMON_NAMES = frozenset("""anna ben paul schmidt sophie max maria john peter smith müller mueller james alex
laura lisa julia thomas michael david sarah emma lukas leon mia hannah jonas felix tom tim jan lena marie""".split())


@lru_cache(maxsize=4)
def vocabulary(nlu_dir: Optional[Path] = None) -> FrozenSet[str]:
    """Words (lowercased) the training data, the shop facts and the country list know: not names."""
    from bot import shop
    from bot.nlu.countries import ALIASES
    from bot.settings import ROOT

    folder = nlu_dir or ROOT / "data" / "nlu"
    texts = [path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.yml"))]
    if shop.FACTS_FILE.exists():
        texts.append(shop.FACTS_FILE.read_text(encoding="utf-8"))
    texts.extend(ALIASES)
    words = {w.lower() for text in texts for w in re.findall(r"[^\W\d_]+", text)}
    return frozenset(words - COMMON_NAMES)


def mask(text: str, known: Optional[FrozenSet[str]] = None) -> str:
    """The text with emails, order numbers, phone numbers and person names replaced by placeholders."""
    return _mask(text or "", known if known is not None else vocabulary())


@lru_cache(maxsize=65536)
def _mask(text: str, known: FrozenSet[str]) -> str:
    text = text[:MAX_TEXT]
    spans: List[Tuple[int, int, str]] = []
    _emails(text, spans)
    _phones(text, spans)
    _orders(text, spans)
    _names(text, spans, known)
    out, end = [], 0
    for start, stop, placeholder in sorted(spans):
        out += [text[end:start], placeholder]
        end = stop
    return "".join(out) + text[end:]


def example_text(masked: str) -> str:
    """A masked text as an example is written: each placeholder a sample value."""
    return PLACEHOLDER.sub(lambda m: SAMPLES[m.group(0)], masked)


def _free(spans: List[Tuple[int, int, str]], start: int, end: int) -> bool:
    return not any(s < end and start < e for s, e, _ in spans)


def _emails(text: str, spans: List[Tuple[int, int, str]]) -> None:
    spans += [(m.start(), m.end(), EMAIL_MASK) for m in EMAIL.finditer(text)]
    for m in SPELLED_EMAIL.finditer(text):
        if _free(spans, m.start(), m.end()):
            spans.append((m.start(), m.end(), EMAIL_MASK))


def _orders(text: str, spans: List[Tuple[int, int, str]]) -> None:
    for m in ORDER_NUMBER.finditer(text):
        start, end = m.span(1)
        inside_word = start > 0 and text[start - 1].isalpha() or end < len(text) and text[end].isalpha()
        if not inside_word and _free(spans, start, end):
            spans.append((start, end, ORDER_MASK))


def _digits(run: str) -> int:
    return sum(c.isdigit() for c in run)


def _is_date_or_price(run: str) -> bool:
    return bool(PRICE.match(run)) or any(p.fullmatch(run) for kind, p in DATE_PATTERNS if kind in ("iso", "dmy"))


def _phones(text: str, spans: List[Tuple[int, int, str]]) -> None:
    found = [(m.start(), m.end()) for m in PHONE_RUN.finditer(text)]
    found += [(m.start(), m.end()) for m in US_PHONE.finditer(text)]
    found += [m.span(1) for m in PHONE_CUE.finditer(text)]
    found += [m.span(1) for m in CALL_CUE.finditer(text) if 9 <= _digits(m.group(1)) <= 15]
    for start, end in sorted(found, key=lambda span: span[0] - span[1]):  # longest first
        run = text[start:end].rstrip(" -./(")
        end = start + len(run)
        if run.count("(") != run.count(")") and run.endswith(")"):
            run, end = run[:-1], end - 1
        if not 7 <= _digits(run) <= 15 or _is_date_or_price(run) or not _free(spans, start, end):
            continue
        spans.append((start, end, PHONE_MASK))


def _names(text: str, spans: List[Tuple[int, int, str]], known: FrozenSet[str]) -> None:
    countries = [(s, e) for _, s, e in find_countries(text)]
    sign_off = SIGN_OFF.search(text)
    signed_from = sign_off.start(1) if sign_off else len(text) + 1
    words = list(WORD.finditer(text))
    alone = _only_unknown_words(text, words, known)  # "Kevin", "kevin mueller": a message that is a name
    for m in words:
        word, start, end = m.group(0), m.start(), m.end()
        lower = word.lower().strip("'’-")
        if not _free(spans, start, end) or any(s <= start < e for s, e in countries) or lower in NOT_NAMES:
            continue
        if alone or lower in COMMON_NAMES or _is_name(text, spans, m, known, signed_from):
            spans.append((start, end, NAME_MASK))


def _is_name(text: str, spans: List[Tuple[int, int, str]], m: Any, known: FrozenSet[str], signed_from: int) -> bool:
    word, start = m.group(0), m.start()
    lower = word.lower().strip("'’-")
    before = text[:start]
    titled = bool(TITLE_WORD.fullmatch(word))
    unknown = lower not in known
    if SURE_CUE.search(before) or (start >= signed_from and (titled or unknown)) or _after_name(text, spans, start):
        return True
    if SENTENCE_START.search(before) and unknown and INTRODUCED.match(text, m.end()):
        return True  # "Kowalski here", "Nowak, my order ..."
    return titled and unknown and (STRONG_CUE.search(before) is not None or not SENTENCE_START.search(before))


def _only_unknown_words(text: str, words: List[Any], known: FrozenSet[str]) -> bool:
    """A message of one or two words, letters only, none of them known to the training data."""
    if not 1 <= len(words) <= 2 or re.sub(r"[\s.,!?]", "", text) != "".join(w.group(0) for w in words):
        return False
    return all(w.group(0).isalpha() and w.group(0).lower() not in known for w in words)


def _after_name(text: str, spans: List[Tuple[int, int, str]], start: int) -> bool:
    """A capitalised word right after a masked name is its surname ("Anna Schmidt", "anna Schmidt")."""
    word = WORD.match(text, start)
    if not word or not TITLE_WORD.fullmatch(word.group(0)):
        return False
    return any(e <= start and placeholder == NAME_MASK and not text[e:start].strip() for _, e, placeholder in spans)
