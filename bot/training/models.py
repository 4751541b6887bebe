"""The models: the active one (models_dir/current.tar.gz, what Rasa loads at start), the candidates the training
jobs made (models_dir/candidates/<job id>.tar.gz with their report beside them), the earlier actives
(models_dir/history/<id>.tar.gz), and the log of every activation and rollback (table model_activations).

An activation is refused while the candidate's report gives reasons (bot.training.evaluate.gate), unless it is
forced: `force=True` skips the gate but still needs a reason and records the reasons it overrode (who may
force is the caller's call: the console lets admins). The log row is written first ("pending": who, why, which
model, which it replaces), then the file is replaced atomically ("installed"), then every Rasa replica loads it
through our model channel (bot/channels/model.py), one replica after another so the others keep serving; a
replica that fails is tried once more. If one still fails, the previous model is put back (file, and the replicas
that had loaded the new one) and the row says "failed" with each replica's answer: the replicas never serve
different models. A replica nobody listens on (connection refused) serves nothing, and loads current.tar.gz when
it starts: it does not fail the activation. A crash midway leaves the row "pending" (nothing changed) or
"installed" (the new model is active): rollback goes by the latest row that reached the install and stands.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import requests
import sqlalchemy as sa

from bot import db
from bot.training import evaluate
from bot.training.jobs import CANDIDATES, valid_job_id, write_json

CURRENT = "current.tar.gz"
CURRENT_META = "current.json"
HISTORY = "history"
LOAD_PATH = "/webhooks/model/load"
LOAD_TIMEOUT = 600.0  # loading a model on a busy 2-core machine takes up to a minute or two
MAX_REASON = 500
MAX_BY = 32

metadata = sa.MetaData()
activations_table = sa.Table(  # as bot/migrations/versions/models_0001_activations.py makes it
    "model_activations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("by", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("previous", sa.String(255)),
    sa.Column("reason", sa.String(500), nullable=False, default=""),
    sa.Column("replicas", sa.JSON),
    sa.Column("report", sa.JSON),
    sa.Column("state", sa.String(16), nullable=False, default="done"),  # models_0002
)
STANDING = ("installed", "done", "partial")  # the row's model was installed and not put back


class ModelError(ValueError):
    """A request the store refuses (no such candidate, no reason given, nothing to roll back to)."""


class ModelNotFound(ModelError, LookupError):
    """No candidate or earlier model of that id."""


class ActivationRefused(ModelError):
    """The gate's reasons: the candidate may not replace the active model."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


class ActivationBusy(ModelError):
    """Another activation or rollback is under way."""


@dataclass
class Activation:
    id: int
    at: dt.datetime
    by: str
    kind: str  # activate | rollback
    model: str
    previous: Optional[str]
    reason: str
    replicas: List[Dict[str, Any]]
    report: Optional[Dict[str, Any]]
    state: str = "done"  # pending | installed | done | failed | partial

    @property
    def ok(self) -> bool:
        """The model is active and every running replica loaded it."""
        return self.state == "done"

    def public(self) -> Dict[str, Any]:
        """JSON for the console: the report's verdict, not the whole report (candidate() has that)."""
        out = asdict(self)
        out["at"] = self.at.isoformat()
        report = out.pop("report") or {}
        out.update(ok=self.ok, gate=report.get("gate", []), forced=bool(report.get("forced")))
        return out


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def load_replica(url: str, token: str, model_file: str, timeout: float = LOAD_TIMEOUT) -> Dict[str, Any]:
    """Ask one Rasa server to load the model (our model channel); what it answered, never raising."""
    started = time.monotonic()
    try:
        answer = requests.post(f"{url.rstrip('/')}{LOAD_PATH}", json={"model_file": model_file}, timeout=timeout,
                               headers={"Authorization": f"Bearer {token}"})
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        ok = answer.status_code == 200 and body.get("model_file") == model_file
        result = {"ok": ok, "status": answer.status_code, "model_id": body.get("model_id"),
                  "error": None if ok else str(body.get("error") or answer.text[:300])}
    except requests.RequestException as err:
        result = {"ok": False, "status": None, "model_id": None, "error": f"{type(err).__name__}: {err}"[:300],
                  "unreachable": isinstance(err, requests.ConnectionError) and not isinstance(err, requests.Timeout)}
    return {"url": url, **result, "seconds": round(time.monotonic() - started, 1)}


def failed(answer: Dict[str, Any]) -> bool:
    """A replica that answered (or timed out) without loading: it may be serving another model."""
    return not answer.get("ok") and not answer.get("unreachable")


Loader = Callable[[str, str, str], Dict[str, Any]]  # (url, token, model_file) -> what the replica answered


class ModelStore:
    def __init__(self, models_dir: Path, sql_url: str, margin: float = 0.05, loader: Loader = load_replica) -> None:
        from bot.migrations import upgrade

        self.dir = models_dir
        self.sql_url = sql_url
        self.margin = margin
        self.loader = loader
        upgrade(sql_url, "models")

    # -- what there is

    def active(self) -> Optional[Dict[str, Any]]:
        """The active model: its id, sha256, size and when and by whom it was made active; None before any."""
        path = self.dir / CURRENT
        if not path.exists():
            return None
        meta = self._current_meta()
        sha = evaluate.file_sha256(path)
        if meta.get("sha256") != sha:  # trained by `make train`, or replaced by hand
            meta = {"id": f"initial-{sha[:12]}", "sha256": sha, "activated_at": None, "by": None}
        return {**meta, "file": CURRENT, "size": path.stat().st_size}

    def _current_meta(self) -> Dict[str, Any]:
        try:
            return dict(json.loads((self.dir / CURRENT_META).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def candidates(self) -> List[Dict[str, Any]]:
        """Every candidate, newest first, with its figures and the gate's verdict against the active model."""
        folder = self.dir / CANDIDATES
        if not folder.exists():
            return []
        active = self.active()
        return [self._summary(p.name[: -len(".tar.gz")], active)
                for p in sorted(folder.glob("*.tar.gz"), reverse=True)]

    def candidate(self, candidate_id: str) -> Dict[str, Any]:
        """One candidate with its whole report."""
        self._candidate_file(candidate_id)
        return {**self._summary(candidate_id, self.active()), "report": self._report(candidate_id)}

    def _candidate_file(self, candidate_id: str) -> Path:
        path = self.dir / CANDIDATES / f"{candidate_id}.tar.gz"
        if not valid_job_id(candidate_id) or not path.exists():
            raise ModelNotFound(f"no candidate model {candidate_id!r}")
        return path

    def _report(self, candidate_id: str) -> Optional[Dict[str, Any]]:
        try:
            content = json.loads((self.dir / CANDIDATES / f"{candidate_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return dict(content["report"]) if isinstance(content, dict) and content.get("report") else None

    def _summary(self, candidate_id: str, active: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        path = self.dir / CANDIDATES / f"{candidate_id}.tar.gz"
        report = self._report(candidate_id)
        blind = ((report or {}).get("candidate") or {}).get("blind", {}).get("blind") or {}
        theirs = (((report or {}).get("active") or {}).get("blind") or {}).get("blind") or {}
        return {
            "id": candidate_id, "file": f"{CANDIDATES}/{path.name}", "size": path.stat().st_size,
            "trained_at": dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds"),
            "macro_f1": blind.get("macro", {}).get("f1"), "active_macro_f1": theirs.get("macro", {}).get("f1"),
            "conversation_tests_passed": ((report or {}).get("conversation_tests") or {}).get("passed"),
            "gate": self.reasons(candidate_id, report, active),
            "active": bool(active and active["id"] == candidate_id),
        }

    def reasons(self, candidate_id: str, report: Optional[Dict[str, Any]], active: Optional[Dict[str, Any]]) -> List[str]:
        """gate()'s reasons, and the one it cannot see: the active model changed since the evaluation."""
        if active and active["id"] == candidate_id:
            return ["this model is already active"]
        found = evaluate.gate(report, self.margin)
        evaluated_against = ((report or {}).get("active") or {}).get("sha256")
        if report and active and evaluated_against != active["sha256"]:
            found.append("the active model changed since this candidate was evaluated: train it again")
        return found

    def history(self) -> List[Dict[str, Any]]:
        """The earlier actives kept for a rollback, newest first."""
        folder = self.dir / HISTORY
        files = sorted(folder.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.exists() else []
        return [{"id": p.name[: -len(".tar.gz")], "file": f"{HISTORY}/{p.name}", "size": p.stat().st_size} for p in files]

    def activations(self, limit: int = 50) -> List[Activation]:
        query = activations_table.select().order_by(activations_table.c.id.desc()).limit(limit)
        with db.using(self.sql_url) as engine, engine.connect() as conn:
            return [Activation(**row._mapping) for row in conn.execute(query)]

    # -- changing it

    def activate(self, candidate_id: str, by: str, reason: str, replicas: Sequence[str], rasa_token: str,
                 force: bool = False) -> Activation:
        """Make the candidate the active model, in the file and in every replica; ActivationRefused if the gate
        objects (unless forced)."""
        source = self._candidate_file(candidate_id)
        by, reason = checked_who_and_why(by, reason)
        with self._exclusive():
            report = self._report(candidate_id)
            active = self.active()
            if active and active["id"] == candidate_id:
                raise ModelError(f"{candidate_id} is already the active model")
            reasons = self.reasons(candidate_id, report, active)
            if reasons and not force:
                raise ActivationRefused(reasons)
            logged = {**(report or {}), "forced": bool(reasons), "gate": reasons} if reasons else report
            return self._switch("activate", source, candidate_id, by, reason, replicas, rasa_token, logged)

    def rollback(self, by: str, reason: str, replicas: Sequence[str], rasa_token: str) -> Activation:
        """Make the model the latest activation replaced active again (the same way, no gate: it was active)."""
        by, reason = checked_who_and_why(by, reason)
        with self._exclusive():
            latest = self.standing()
            if not latest or not latest.previous:
                raise ModelError("there is no earlier model to roll back to")
            target = latest.previous
            source = self.dir / HISTORY / f"{target}.tar.gz"
            if not source.exists():
                raise ModelNotFound(f"the earlier model {target!r} is no longer kept in {HISTORY}/")
            return self._switch("rollback", source, target, by, reason, replicas, rasa_token, None)

    def standing(self) -> Optional[Activation]:
        """The latest activation or rollback whose model was installed and not put back."""
        query = (activations_table.select().where(activations_table.c.state.in_(STANDING))
                 .order_by(activations_table.c.id.desc()).limit(1))
        with db.using(self.sql_url) as engine, engine.connect() as conn:
            row = conn.execute(query).first()
        return Activation(**row._mapping) if row else None

    def _switch(self, kind: str, source: Path, model_id: str, by: str, reason: str, replicas: Sequence[str],
                token: str, report: Optional[Dict[str, Any]]) -> Activation:
        previous = self.active()
        kept = self._keep(previous)
        row: Dict[str, Any] = {"at": now(), "by": by, "kind": kind, "model": model_id,
                               "previous": previous["id"] if previous else None, "reason": reason,
                               "replicas": [], "report": report, "state": "pending"}
        row_id = self._log(None, row)
        self._install(source, model_id, by)
        self._log(row_id, {"state": "installed"})
        answers = [self._load(url, token) for url in replicas]
        state = "done"
        if any(failed(a) for a in answers):
            state = "partial" if kept is None or previous is None else "failed"
            if kept is not None and previous is not None:
                answers = self._put_back(kept, previous, answers, token)
        row.update(replicas=answers, state=state)
        self._log(row_id, {"replicas": answers, "state": state})
        return Activation(id=row_id, **row)

    def _keep(self, previous: Optional[Dict[str, Any]]) -> Optional[Path]:
        """The active model copied into history/ (for a rollback, or to put back if a replica fails)."""
        if not previous:
            return None
        kept = self.dir / HISTORY / f"{previous['id']}.tar.gz"
        kept.parent.mkdir(exist_ok=True)
        if not kept.exists():
            shutil.copy2(self.dir / CURRENT, kept)
        return kept

    def _put_back(self, kept: Path, previous: Dict[str, Any], answers: List[Dict[str, Any]],
                  token: str) -> List[Dict[str, Any]]:
        """The previous model installed again and reloaded where the new one had loaded; each answer says so."""
        self._install(kept, previous["id"], previous.get("by") or "")
        for answer in answers:
            if answer.get("ok"):
                back = self._load(answer["url"], token)
                answer["restored"] = {k: back.get(k) for k in ("ok", "error", "model_id", "attempts")}
        return answers

    def _log(self, row_id: Optional[int], values: Dict[str, Any]) -> int:
        with db.using(self.sql_url) as engine, engine.begin() as conn:
            if row_id is None:
                return int(conn.execute(activations_table.insert().values(**values)).inserted_primary_key[0])
            conn.execute(activations_table.update().where(activations_table.c.id == row_id).values(**values))
            return row_id

    def _install(self, source: Path, model_id: str, by: str) -> None:
        """current.tar.gz replaced in one step (a Rasa starting now loads the old or the new, never half)."""
        partial = self.dir / f".{CURRENT}.{os.getpid()}.partial"
        shutil.copyfile(source, partial)
        sha = evaluate.file_sha256(partial)
        os.replace(partial, self.dir / CURRENT)
        write_json(self.dir / CURRENT_META, {"id": model_id, "sha256": sha, "by": by,
                                             "activated_at": now().isoformat() + "Z"})

    def _load(self, url: str, token: str) -> Dict[str, Any]:
        first = self.loader(url, token, CURRENT)
        if first.get("ok"):
            return {**first, "attempts": 1}
        second = self.loader(url, token, CURRENT)
        return {**second, "attempts": 2, "first_error": first.get("error")}

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / ".activate.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ActivationBusy("another activation or rollback is under way") from None
            yield
        finally:
            os.close(fd)


def checked_who_and_why(by: str, reason: str) -> tuple:
    by, reason = (by or "").strip(), (reason or "").strip()
    if not by:
        raise ModelError("who activates must be named")
    if not reason:
        raise ModelError("a reason is required: the log says why each model became active")
    return by[:MAX_BY], reason[:MAX_REASON]
