"""Every change taught into the NLU data, logged in SQL (table training_changes) with who, when and what, so
the history can be read and a change undone.

An example taught to an intent is taken from every other intent that had it (Botpress's rule: one message, one
meaning); the log records where from, so an undo puts it back there. An undo applies the inverse only while it
still applies (the text is where the change left it) and is refused otherwise, changing nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa

from bot import db
from bot.migrations import upgrade
from bot.training.masking import example_text
from bot.training.nlu_data import NluData, NluDataError, Plan, Saved, check_intent, check_text, restore, write_all

SOURCES = ("console", "inbox", "import", "cli", "faq", "undo")
MAX_BY = 32
MAX_TEXT = 500
MAX_INTENT = 64

metadata = sa.MetaData()
changes_table = sa.Table(
    "training_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("by", sa.String(32), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("intent", sa.String(64)),
    sa.Column("text", sa.String(500), nullable=False),
    sa.Column("previous_intents", sa.JSON),
    sa.Column("file", sa.String(255)),
    sa.Column("undo_of", sa.Integer),
    sa.Column("undone_by", sa.Integer),
    sa.Column("detail", sa.JSON),
)


class TrainingError(NluDataError):
    """A change refused (bad input, or an undo that no longer applies). Nothing was changed."""


@dataclass
class Change:
    id: Optional[int]  # None: nothing changed, so nothing was logged (kind "unchanged")
    at: dt.datetime
    by: str
    source: str
    kind: str  # add | move | remove | faq | undo | unchanged
    intent: Optional[str]
    text: str
    previous_intents: List[str] = field(default_factory=list)
    file: Optional[str] = None
    undo_of: Optional[int] = None
    undone_by: Optional[int] = None
    detail: Dict[str, Any] = field(default_factory=dict)

    def public(self) -> Dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "by": self.by, "source": self.source, "kind": self.kind,
                "intent": self.intent, "text": self.text, "previous_intents": list(self.previous_intents),
                "file": self.file, "undo_of": self.undo_of, "undone_by": self.undone_by, "detail": dict(self.detail),
                "undoable": self.id is not None and self.kind in ("add", "move", "remove", "faq") and self.undone_by is None}


def _change(row: Any) -> Change:
    return Change(row.id, row.at, row.by, row.source, row.kind, row.intent, row.text, list(row.previous_intents or []),
                  row.file, row.undo_of, row.undone_by, dict(row.detail or {}))


def _check_lengths(intent: Optional[str], text: str) -> None:
    """What the log's columns hold: checked before anything is written, so a change is never made unlogged."""
    if intent is not None and len(intent) > MAX_INTENT:
        raise TrainingError(f"an intent name is at most {MAX_INTENT} characters")
    if len(text) > MAX_TEXT:
        raise TrainingError(f"an example is at most {MAX_TEXT} characters (as written, placeholders filled in)")


def _check_by(by: str, source: str) -> None:
    if not by or len(by) > MAX_BY:
        raise TrainingError(f"who made the change is 1 to {MAX_BY} characters")
    if source not in SOURCES:
        raise TrainingError(f"source {source!r} is none of {', '.join(SOURCES)}")


class TrainingChanges:
    def __init__(self, sql_url: str, nlu: NluData) -> None:
        self.nlu = nlu
        self.engine = db.hold(sql_url)
        upgrade(sql_url, "training")

    def close(self) -> None:
        db.release(self.engine)

    def teach(self, intent: str, text: str, by: str, *, new: bool = False, source: str = "console",
              file: Optional[str] = None) -> Change:
        """`text` (placeholders such as [order] become sample values) as an example of `intent`."""
        _check_by(by, source)
        text = self._nlu(lambda: check_text(example_text(check_text(text))))
        _check_lengths(intent, text)
        with self.nlu.editing():
            added, plan = self._nlu(lambda: self.nlu.plan_add(check_intent(intent), text, new=new, file=file))
            if added.already:
                return Change(None, _now(), by, source, "unchanged", intent, added.written, file=self._rel(added.path),
                              detail={"message": added.message})
            _check_lengths(intent, added.written)
            previous = [f.example.intent for f in added.moved]
            detail = {"message": added.message, "created": added.created,
                      "domain_file": self._rel(added.domain_file) if added.domain_file else None,
                      "from_files": [self._rel(f.path) for f in added.moved], "removed": _lines(added.moved)}
            return self._apply(plan, by, source, "move" if previous else "add", intent, added.written, previous,
                               self._rel(added.path), detail=detail)

    def unteach(self, text: str, by: str, source: str = "console") -> Change:
        """`text` removed from every intent that has it (refused when it is no example, or an intent's last)."""
        _check_by(by, source)
        with self.nlu.editing():
            removed, plan = self._nlu(lambda: self.nlu.plan_remove(text))
            if not removed.removed:
                raise TrainingError(removed.message)
            first = removed.removed[0]
            _check_lengths(None, first.example.text)
            return self._apply(plan, by, source, "remove", None, first.example.text,
                               [f.example.intent for f in removed.removed], self._rel(first.path),
                               detail={"message": removed.message, "removed": _lines(removed.removed)})

    def record(self, by: str, source: str, kind: str, intent: Optional[str], text: str,
               detail: Optional[Dict[str, Any]] = None, file: Optional[str] = None) -> Change:
        """Log a change made elsewhere (an FAQ, made by bot.training.faq)."""
        _check_by(by, source)
        return self._log(by, source, kind, intent, text, [], file, detail=detail or {})

    def history(self, limit: int = 100) -> List[Change]:
        query = sa.select(changes_table).order_by(changes_table.c.id.desc()).limit(max(1, min(limit, 1000)))
        with self.engine.connect() as conn:
            return [_change(row) for row in conn.execute(query)]

    def get(self, change_id: int) -> Change:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(changes_table).where(changes_table.c.id == change_id)).first()
        if row is None:
            raise TrainingError(f"no change {change_id}")
        return _change(row)

    def undo(self, change_id: int, by: str) -> Change:
        """The inverse of a change, if it still applies: an added example removed, a moved one moved back, a
        removed one taught again. Refused (TrainingError, nothing changed) otherwise."""
        _check_by(by, "undo")
        with self.nlu.editing():
            change = self.get(change_id)
            self._undoable(change)
            if change.kind == "add":
                inverse, plan = self._undo_add(change)
            elif change.kind == "faq":
                inverse, plan = self._undo_faq(change)
            else:
                inverse, plan = self._undo_move_or_remove(change)
            mark = changes_table.update().where(changes_table.c.id == change.id)
            return self._apply(plan, by, "undo", "undo", inverse.get("intent"), change.text,
                               inverse.get("previous", []), change.file, undo_of=change.id,
                               detail={"message": inverse["message"]}, mark=mark)

    def _undoable(self, change: Change) -> None:
        if change.undone_by is not None:
            raise TrainingError(f"change {change.id} was already undone (by change {change.undone_by})")
        if change.kind == "undo":
            raise TrainingError("an undo is not undone: teach the example again instead")
        if change.kind not in ("add", "move", "remove", "faq"):
            raise TrainingError(f"a change of kind {change.kind!r} cannot be undone here; edit the files by hand")
        if change.detail.get("created"):
            raise TrainingError(f"change {change.id} created the intent {change.intent}: an intent's only example "
                                "is not removed (remove the intent by hand: NLU block and domain)")

    def _where(self, text: str) -> List[str]:
        return sorted({f.example.intent for f in self.nlu.find(text)})

    def _undo_add(self, change: Change) -> Tuple[Dict[str, Any], Plan]:
        now = self._where(change.text)
        if now != [change.intent]:
            raise TrainingError(self._moved_since(change, now))
        removed, plan = self._nlu(lambda: self.nlu.plan_remove(change.text))
        return {"intent": None, "previous": [change.intent], "message": removed.message}, plan

    def _undo_faq(self, change: Change) -> Tuple[Dict[str, Any], Plan]:
        from bot.training.faq import plan_undo  # faq builds on this module

        plan = self._nlu(lambda: plan_undo(change, self.nlu))
        return {"intent": None, "previous": [change.intent],
                "message": f"removed the FAQ {change.intent} (examples, domain entry, answer, rule)"}, plan

    def _undo_move_or_remove(self, change: Change) -> Tuple[Dict[str, Any], Plan]:
        now = self._where(change.text)
        expected = [change.intent] if change.kind == "move" else []
        if now != expected:
            raise TrainingError(self._moved_since(change, now))
        lines = [(self.nlu.nlu_dir / Path(line["file"]).name, line["intent"], line["text"])
                 for line in change.detail.get("removed") or []]
        if not lines:  # logged before each removed line was kept: the intents it came from, in the logged form
            lines = [(path, intent, change.text) for intent in change.previous_intents
                     for path in [self.nlu.file_of(intent)] if path is not None]
            if len(lines) < len(change.previous_intents):
                raise TrainingError(f"an intent the example came from ({', '.join(change.previous_intents)}) "
                                    "no longer exists")
        plan = self._nlu(lambda: self.nlu.plan_put_back(change.intent if expected else None, change.text, lines))
        back = ", ".join(f"{text!r} to {intent} ({path.name})" for path, intent, text in lines)
        target = lines[0][1]
        return {"intent": target, "previous": expected, "message": f"put back {back}"}, plan

    @staticmethod
    def _moved_since(change: Change, now: List[str]) -> str:
        where = f"an example of {', '.join(now)}" if now else "no example of any intent"
        return f"change {change.id} cannot be undone: {change.text!r} has changed since (it is now {where})"

    def _nlu(self, step: Any) -> Any:
        try:
            return step()
        except TrainingError:
            raise
        except NluDataError as err:
            raise TrainingError(str(err)) from None

    def _rel(self, path: Any) -> str:
        for base in (self.nlu.nlu_dir.parent.parent, self.nlu.domain_dir.parent):
            try:
                return str(path.relative_to(base))
            except ValueError:
                continue
        return str(path)

    def _log(self, by: str, source: str, kind: str, intent: Optional[str], text: str, previous: List[str],
             file: Optional[str], *, undo_of: Optional[int] = None, detail: Optional[Dict[str, Any]] = None) -> Change:
        return self._apply({}, by, source, kind, intent, text, previous, file, undo_of=undo_of, detail=detail)

    def _apply(self, plan: Plan, by: str, source: str, kind: str, intent: Optional[str], text: str,
               previous: List[str], file: Optional[str], *, undo_of: Optional[int] = None,
               detail: Optional[Dict[str, Any]] = None, mark: Any = None) -> Change:
        """The log row inserted in a transaction, the files written, then the commit; if anything fails the
        files get their bytes back and the row is rolled back, so no change is made without its log row."""
        _check_lengths(intent, text)
        change = Change(None, _now(), by, source, kind, intent, text, previous, file, undo_of, None, detail or {})
        values = {k: v for k, v in change.__dict__.items() if k != "id"}
        saved: Saved = {}
        try:
            with self.engine.begin() as conn:
                change.id = conn.execute(changes_table.insert().values(**values)).inserted_primary_key[0]
                if mark is not None:
                    conn.execute(mark.values(undone_by=change.id))
                saved = write_all(plan)
        except BaseException:
            change.id = None
            restore(saved)
            raise
        return change


def _lines(found: Any) -> List[Dict[str, str]]:
    """Each removed example line as it was written: its file (by name, in data/nlu), intent and text."""
    return [{"file": f.path.name, "intent": f.example.intent, "text": f.example.text} for f in found]


def _now() -> dt.datetime:
    return dt.datetime.utcnow().replace(microsecond=0)
