"""NLU training data edited as text: add, move, remove and list examples, keeping every other byte of every file.

Re-dumping YAML would lose the comments, the order and the quoting people chose, so each change is one
line added or removed. Examples are compared as the classifier sees them (the masking tokenizer's tokens,
lowercased as the count featurizers do): "where is 100482" is already taught when "where is 100377" is.
"""
from __future__ import annotations

import fcntl
import os
import re
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

INTENT_NAME = re.compile(r"[a-z0-9_]+")
INTENT_HEADER = re.compile(r"^- intent: *([^\s#]+)")
EXAMPLE_LINE = re.compile(r"^ +- (.*?)\s*$")
EXAMPLE_INDENT = "    "
DOMAIN_INTENTS = re.compile(r"^intents: *$", re.MULTILINE)
DOMAIN_ITEM = re.compile(r"^  - ")
# written in place of what the visitor typed, in the form the training data already uses (no entity annotations:
# bot.nlu.entities finds them by rule); any value reads the same to the classifier, which sees the mask
SAMPLE_VALUES = {"__order_number__": "100482", "__email__": "name@example.com"}
NEW_NLU_FILE = "new_intents.yml"
NEW_NLU_HEADER = 'version: "3.1"\nnlu:\n'
DEFAULT_DOMAIN_FILE = "base.yml"
LOCK_FILE = ".edit.lock"
Plan = Dict[Path, str]  # the new contents of each file a change writes
Saved = Dict[Path, Optional[bytes]]  # each such file's bytes before (None: it did not exist)
_held: Dict[str, Tuple[threading.RLock, List[Any]]] = {}  # lock file -> (thread lock, [open file, depth])
_held_guard = threading.Lock()


@contextmanager
def editing(data_dir: Path) -> Iterator[None]:
    """Hold the data folder's edit lock (an flock on data_dir/.edit.lock): one edit of the training data at a
    time across processes (console, CLI, import, the training job's snapshot). Re-entrant in one thread."""
    path = str((data_dir / LOCK_FILE).resolve())
    with _held_guard:
        lock, state = _held.setdefault(path, (threading.RLock(), [None, 0]))
    with lock:
        if state[1] == 0:
            handle = open(path, "a+b")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            except BaseException:
                handle.close()
                raise
            state[0] = handle
        state[1] += 1
        try:
            yield
        finally:
            state[1] -= 1
            if state[1] == 0:
                state[0].close()  # closing releases the flock
                state[0] = None


class NluDataError(ValueError):
    """A request refused: bad input or an unknown intent. Nothing was changed."""


@dataclass(frozen=True)
class Example:
    intent: str
    text: str
    line: int  # index into the file's lines


@dataclass(frozen=True)
class Block:
    intent: str
    header: int
    last_line: int  # the line after which an added example goes
    examples: Tuple[Example, ...]


def check_intent(intent: str) -> str:
    if not INTENT_NAME.fullmatch(intent):
        raise NluDataError(f"intent name {intent!r} is not made of a-z, 0-9 and _")
    return intent


def check_text(text: str) -> str:
    from rasa.shared.nlu.training_data.entities_parser import ENTITY_REGEX

    if "\n" in text or "\r" in text:
        raise NluDataError("an example is one line: the text has a line break")
    text = text.strip()
    if not text:
        raise NluDataError("the example is empty")
    if ENTITY_REGEX.search(text):
        raise NluDataError(f"{text!r} reads as an entity annotation ([text](entity)); entities are found by rule")
    return text


def check_file(name: str) -> str:
    """A topic file of data/nlu, by its name: `--file data/nlu/orders.yml` and `orders.yml` are the same."""
    name = Path(name).name
    if not re.fullmatch(r"[a-z0-9_]+\.yml", name):
        raise NluDataError(f"{name!r} is no topic file name (like orders.yml)")
    return name


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from bot.nlu.tokenizer import MaskingWhitespaceTokenizer

    return MaskingWhitespaceTokenizer(MaskingWhitespaceTokenizer.get_default_config())


def _tokens(text: str) -> List[Any]:
    from rasa.shared.nlu.training_data.message import Message

    return list(_tokenizer().tokenize(Message(data={"text": text}), "text"))


def comparison_key(text: str) -> str:
    """The example as the classifier sees it: masked tokens (order numbers, emails, countries), lowercased."""
    return " ".join(token.text.lower() for token in _tokens(text))


def written_form(text: str) -> str:
    """The text with every order number and email the tokenizer masks replaced by a sample value."""
    out, end = [], 0
    for token in _tokens(text):
        sample = SAMPLE_VALUES.get(token.text)
        if sample is None:
            continue
        raw = text[token.start:token.end]
        out += [text[end:token.start], ("#" if raw.startswith("#") else "") + sample]
        end = token.end
    return "".join(out) + text[end:]


def blocks(text: str) -> Dict[str, Block]:
    """Each `- intent:` block of an NLU file and the lines of its `examples: |`."""
    found: Dict[str, Block] = {}
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        header = INTENT_HEADER.match(lines[i])
        if not header:
            i += 1
            continue
        intent, start, examples = header.group(1), i, []
        last = i
        i += 1
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith("  ")):
            example = EXAMPLE_LINE.match(lines[i]) if lines[i].startswith(EXAMPLE_INDENT) else None
            if example:
                examples.append(Example(intent, example.group(1), i))
            if lines[i].strip():
                last = i
            i += 1
        found[intent] = Block(intent, start, last, tuple(examples))
    return found


def add_line(text: str, block: Block, example: str) -> str:
    lines = text.splitlines(keepends=True)
    if not lines[block.last_line].endswith("\n"):
        lines[block.last_line] += "\n"
    lines.insert(block.last_line + 1, f"{EXAMPLE_INDENT}- {example}\n")
    return "".join(lines)


def remove_line(text: str, line: int) -> str:
    lines = text.splitlines(keepends=True)
    del lines[line]
    return "".join(lines)


def add_block(text: str, intent: str, example: str) -> str:
    if text and not text.endswith("\n"):
        text += "\n"
    return f"{text or NEW_NLU_HEADER}- intent: {intent}\n  examples: |\n{EXAMPLE_INDENT}- {example}\n"


def add_domain_intent(text: str, intent: str) -> str:
    """The intent as one more item at the end of the domain file's `intents:` list."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if DOMAIN_INTENTS.match(line)), None)
    if start is None:
        raise NluDataError("the domain file has no `intents:` list")
    last = start
    for i in range(start + 1, len(lines)):
        if DOMAIN_ITEM.match(lines[i]):
            last = i
        elif lines[i].strip() and not lines[i].startswith(" "):
            break
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines.insert(last + 1, f"  - {intent}\n")
    return "".join(lines)


def domain_intents(text: str) -> List[str]:
    import yaml

    items = (yaml.safe_load(text) or {}).get("intents") or []
    return [item if isinstance(item, str) else next(iter(item)) for item in items]


@dataclass(frozen=True)
class Found:
    path: Path
    example: Example


@dataclass(frozen=True)
class Added:
    """What add_example did: `written` (as it went into `path`) taken from the `moved` examples of other intents."""
    intent: str
    written: str
    path: Path
    moved: Tuple[Found, ...] = ()
    domain_file: Optional[Path] = None  # the intent was added to this domain file
    created: bool = False  # the intent's block was made by this change
    already: bool = False  # nothing changed: the intent had it

    @property
    def message(self) -> str:
        if self.already:
            return f"already taught: {self.written!r} is an example of {self.intent} ({str(self.path)})"
        parts = [f"added {self.written!r} to {self.intent} ({str(self.path)})"]
        parts += [f"removed from {f.example.intent} ({str(f.path)})" for f in self.moved]
        if self.domain_file:
            parts.append(f"added intent {self.intent} to the domain ({str(self.domain_file)})")
        return "; ".join(parts)


@dataclass(frozen=True)
class Removed:
    text: str
    removed: Tuple[Found, ...]

    @property
    def message(self) -> str:
        if not self.removed:
            return f"not found: {self.text!r} is no example of any intent"
        return "; ".join(f"removed {f.example.text!r} from {f.example.intent} ({str(f.path)})" for f in self.removed)


class NluData:
    """The NLU files in `data_dir/nlu` and the domain files in `domain_dir`, changed one line at a time."""

    def __init__(self, data_dir: Path, domain_dir: Path) -> None:
        self.data_dir = data_dir
        self.nlu_dir = data_dir / "nlu"
        self.domain_dir = domain_dir

    def editing(self) -> Any:
        return editing(self.data_dir)

    def files(self) -> List[Path]:
        return sorted(self.nlu_dir.glob("*.yml"))

    def file_of(self, intent: str) -> Optional[Path]:
        return next((path for path in self.files() if intent in blocks(_read(path))), None)

    def find(self, text: str) -> List[Found]:
        key = comparison_key(text)
        return [Found(path, example) for path in self.files() for block in blocks(_read(path)).values()
                for example in block.examples if comparison_key(example.text) == key]

    def examples_of(self, intent: str) -> List[str]:
        path = self.file_of(check_intent(intent))
        if path is None:
            raise NluDataError(f"unknown intent {intent!r}: no NLU file has it")
        return [example.text for example in blocks(_read(path))[intent].examples]

    def add(self, intent: str, text: str, new: bool = False, file: Optional[str] = None) -> str:
        return self.add_example(intent, text, new=new, file=file).message

    def remove(self, text: str) -> str:
        return self.remove_example(text).message

    def add_example(self, intent: str, text: str, new: bool = False, file: Optional[str] = None) -> Added:
        """Teach `text` as an example of `intent`, taking it from any other intent that has it."""
        with self.editing():
            added, plan = self.plan_add(intent, text, new=new, file=file)
            write_all(plan)
            return added

    def remove_example(self, text: str) -> Removed:
        with self.editing():
            removed, plan = self.plan_remove(text)
            write_all(plan)
            return removed

    def plan_add(self, intent: str, text: str, new: bool = False, file: Optional[str] = None) -> Tuple[Added, Plan]:
        """What add_example would write, every check made and nothing written."""
        intent, text = check_intent(intent), check_text(text)
        if file and not new:
            raise NluDataError("--file names where a new intent goes: it needs --new")
        path = self.file_of(intent)
        if path is None and not new:
            raise NluDataError(f"unknown intent {intent!r}: no NLU file has it (--new creates it)")
        found = self.find(text)
        if any(f.example.intent == intent for f in found):
            return Added(intent, text, path or found[0].path, already=True), {}
        created = path is None
        if path is None:
            path = self.nlu_dir / (check_file(file) if file else self.default_file(intent))
        plan: Plan = {}
        moved = self._plan_remove(found, plan)
        written, domain = written_form(text), None
        if created:
            plan[path] = add_block(_planned(plan, path) if path.exists() or path in plan else "", intent, written)
            domain = self._add_to_domain(intent, path, plan)
        else:
            plan[path] = add_line(_planned(plan, path), blocks(_planned(plan, path))[intent], written)
        return Added(intent, written, path, moved=tuple(moved), domain_file=domain, created=created), plan

    def plan_remove(self, text: str) -> Tuple[Removed, Plan]:
        text = check_text(text)
        plan: Plan = {}
        return Removed(text, tuple(self._plan_remove(self.find(text), plan))), plan

    def plan_put_back(self, take_from: Optional[str], text: str, lines: List[Tuple[Path, str, str]]) -> Plan:
        """Undo of a move or remove: `text` taken out of `take_from` (if any) and each (file, intent, line)
        written back as it was."""
        plan: Plan = {}
        if take_from:
            self._plan_remove([f for f in self.find(text) if f.example.intent == take_from], plan)
        for path, intent, original in lines:
            check_text(original)
            if not path.exists() or intent not in blocks(_planned(plan, path)):
                raise NluDataError(f"the intent {intent} the example came from is no longer in {path.name}")
            plan[path] = add_line(_planned(plan, path), blocks(_planned(plan, path))[intent], original)
        return plan

    def default_file(self, intent: str) -> str:
        """The topic file named by the intent's first word (faq_*, chitchat_*) if there is one, else NEW_NLU_FILE."""
        topic = f"{intent.split('_')[0]}.yml"
        return topic if (self.nlu_dir / topic).exists() else NEW_NLU_FILE

    def _plan_remove(self, found: List[Found], plan: Plan) -> List[Found]:
        for f in found:  # checked before anything is written: a refusal changes nothing
            if len(blocks(_read(f.path))[f.example.intent].examples) <= sum(g.example.intent == f.example.intent for g in found):
                raise NluDataError(f"{f.example.text!r} is the last example of {f.example.intent}: an intent with no "
                                   "examples fails validation; remove the intent by hand (NLU block and domain)")
        for f in sorted(found, key=lambda f: f.example.line, reverse=True):  # bottom up: earlier line numbers hold
            plan[f.path] = remove_line(_planned(plan, f.path), f.example.line)
        return found

    def _add_to_domain(self, intent: str, nlu_file: Path, plan: Plan) -> Optional[Path]:
        domain_files = sorted(self.domain_dir.glob("*.yml"))
        if any(intent in domain_intents(_read(path)) for path in domain_files):
            return None
        by_topic = self.domain_dir / nlu_file.name
        path = by_topic if by_topic in domain_files and DOMAIN_INTENTS.search(_read(by_topic)) else \
            self.domain_dir / DEFAULT_DOMAIN_FILE
        plan[path] = add_domain_intent(_planned(plan, path), intent)
        return path


def _planned(plan: Plan, path: Path) -> str:
    return plan[path] if path in plan else _read(path)


def _read(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as f:  # newline="": "\r\n" stays as it is
        return f.read()


def _write(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """All or nothing: a temporary file in the same folder renamed over `path` (keeping its mode)."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_all(plan: Plan) -> Saved:
    """Write every file of `plan`; if one fails, the ones written are put back. Returns the bytes before."""
    saved: Saved = {path: path.read_bytes() if path.exists() else None for path in plan}
    try:
        for path, text in plan.items():
            _write(path, text)
    except BaseException:
        restore(saved)
        raise
    return saved


def restore(saved: Saved) -> None:
    """Put back the bytes `write_all` returned (a file that did not exist is removed)."""
    for path, data in saved.items():
        if data is None:
            path.unlink(missing_ok=True)
        elif not path.exists() or path.read_bytes() != data:
            write_bytes(path, data)
