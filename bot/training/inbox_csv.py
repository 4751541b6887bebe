"""The inbox as a CSV file for a spreadsheet, and the trainer's decisions read back from it.

Columns: key, text, count, intent, confidence, reasons, conversation, decision. A decision is an intent's name
(the text is taught to it, from "import", and the group resolved as applied), "ignore" (resolved as ignored) or
empty (undecided, skipped). A file with any malformed row is refused whole, before anything changes. Cells that
a spreadsheet would run as a formula are written with a leading apostrophe, taken off again on import.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from bot.training.changes import TrainingChanges, TrainingError
from bot.training.inbox import MAX_KEY, Inbox
from bot.training.masking import example_text
from bot.training.nlu_data import INTENT_NAME, NluDataError, blocks, check_text

COLUMNS = ["key", "text", "count", "intent", "confidence", "reasons", "conversation", "decision"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
IGNORE = "ignore"


def spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unsafe(value: str) -> str:
    """A cell as it was before spreadsheet_safe."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def export(inbox: Inbox, path: Path) -> int:
    """Every unresolved group, most frequent first; returns how many."""
    items = inbox.all_items("frequent")
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for item in items:
            confidence = "" if item.confidence is None else f"{item.confidence:.2f}"
            writer.writerow([spreadsheet_safe(str(v)) for v in (
                item.key, item.text, item.count, item.intent or "", confidence, ";".join(item.reasons),
                item.conversation_id, "")])
    return len(items)


@dataclass
class Decision:
    line: int
    key: str
    text: str
    decision: str


@dataclass
class Imported:
    taught: int = 0
    already: int = 0  # the intent had the example: resolved, nothing written
    ignored: int = 0
    undecided: int = 0
    refused: List[str] = field(default_factory=list)  # rows the data refused (each changed nothing)

    def message(self) -> str:
        done = (f"taught {self.taught}, already taught {self.already}, ignored {self.ignored}, "
                f"left undecided {self.undecided}")
        return "; ".join([done, *(f"refused {why}" for why in self.refused)])


def read(path: Path, known_intents: Optional[List[str]] = None) -> List[Decision]:
    """The file's rows, checked: a malformed file raises TrainingError naming the line, nothing is applied."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise TrainingError(f"{path} cannot be read as a UTF-8 CSV file: {err}") from None
    if not rows or [c.strip().lower() for c in rows[0]] != COLUMNS:
        raise TrainingError(f"{path}: the first line must be the columns {','.join(COLUMNS)}")
    decisions = []
    for line, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            raise TrainingError(f"{path}, line {line}: {len(cells)} cells, not {len(COLUMNS)}")
        decisions.append(_decision(path, line, dict(zip(COLUMNS, (unsafe(c) for c in cells), strict=True)),
                                   known_intents))
    return decisions


def _decision(path: Path, line: int, cells: Dict[str, str], known: Optional[List[str]]) -> Decision:
    key, text, decision = cells["key"].strip(), cells["text"].strip(), cells["decision"].strip()
    where = f"{path}, line {line}"
    if not key or len(key) > MAX_KEY:
        raise TrainingError(f"{where}: the key is 1 to {MAX_KEY} characters")
    if decision and decision.lower() == IGNORE:
        decision = IGNORE
    elif decision and not INTENT_NAME.fullmatch(decision):
        raise TrainingError(f"{where}: decision {decision!r} is neither an intent name nor {IGNORE!r}")
    elif decision and known is not None and decision not in known:
        raise TrainingError(f"{where}: {decision!r} is no intent of the training data")
    if decision and decision != IGNORE:
        try:
            check_text(example_text(check_text(text)))
        except NluDataError as err:
            raise TrainingError(f"{where}: {err}") from None
    return Decision(line, key, text, decision)


def apply(path: Path, inbox: Inbox, changes: TrainingChanges, by: str) -> Imported:
    """Teach or ignore each decided row (the whole file checked first), holding the data folder's edit lock
    throughout so no console or CLI edit interleaves with the import."""
    with changes.nlu.editing():
        intents = sorted({name for file in changes.nlu.files() for name in _intents_in(changes, file)})
        decisions = read(path, intents)
        done = Imported()
        for row in decisions:
            if not row.decision:
                done.undecided += 1
            elif row.decision == IGNORE:
                inbox.resolve(row.key, "ignored", None, by)
                done.ignored += 1
            else:
                _teach(row, inbox, changes, by, done)
        return done


def _teach(row: Decision, inbox: Inbox, changes: TrainingChanges, by: str, done: Imported) -> None:
    try:
        change = changes.teach(row.decision, row.text, by, source="import")
    except TrainingError as err:  # e.g. the last example of another intent: this row changes nothing
        done.refused.append(f"line {row.line}: {err}")
        return
    inbox.resolve(row.key, "applied", row.decision, by)
    if change.id is None:
        done.already += 1
    else:
        done.taught += 1


def _intents_in(changes: TrainingChanges, file: Path) -> List[str]:
    return list(blocks(file.read_text(encoding="utf-8")))
