"""The trainer's area: the page /train and its JSON under /api/train/ (trainers and admins). The NLU inbox (what
the bot did not understand, masked), teaching it (bot.training.changes, so every change is in the history with
its undo), an intent's examples, a new FAQ, training a model in the background, its report and activating it."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.errors import BadInput, Forbidden, NotFound
from bot.console.sessions import json_body, requires, text_field
from bot.logsafe import loggable
from bot.tracker.transcript import history_from_events
from bot.training import faq
from bot.training.masking import mask
from bot.training.nlu_data import INTENT_NAME, blocks

logger = logging.getLogger(__name__)
bp = Blueprint("train")
PAGE = Path(__file__).resolve().parent.parent / "templates" / "train.html"
ORDERS = ("newest", "frequent")
FALLBACK = "nlu_fallback"  # the bot's "not understood": no intent a trainer could confirm
MAX_PAGE = 200
MAX_EXAMPLE = 300
MAX_ANSWER = 2000
MAX_REASON = 500
MAX_FAQ_EXAMPLES = 20


@bp.get("/train")
@requires("trainer", page=True, template="train.html")
async def page(_: Request) -> response.HTTPResponse:
    return response.html(PAGE.read_text(encoding="utf-8"))


# --- the inbox ---------------------------------------------------------------------------------------------
def paging(request: Request) -> tuple:
    """(limit, offset) of the query, refused with a reason when they are not whole numbers in range."""
    try:
        limit, offset = int(request.args.get("limit") or 50), int(request.args.get("offset") or 0)
    except ValueError:
        raise BadInput("limit and offset must be whole numbers") from None
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise BadInput(f"limit must be 1 to {MAX_PAGE} and offset 0 or more")
    return limit, offset


@bp.get("/api/train/inbox")
@requires("trainer")
async def inbox(request: Request) -> response.HTTPResponse:
    order = request.args.get("order") or "newest"
    if order not in ORDERS:
        raise BadInput(f"order must be one of {', '.join(ORDERS)}")
    search = (request.args.get("search") or "").strip()[:200]
    limit, offset = paging(request)
    items, total = await asyncio.to_thread(request.app.ctx.inbox.items, order, search, limit, offset)
    return response.json({"items": [item.public() for item in items], "total": total, "limit": limit,
                          "offset": offset, "order": order}, default=str)


def intent_field(data: Dict[str, Any], key: str = "intent") -> str:
    intent = str(data.get(key) or "").strip()
    if not intent:
        raise BadInput("choose an intent")
    if len(intent) > 64 or not INTENT_NAME.fullmatch(intent):
        raise BadInput(f"an intent name is made of a-z, 0-9 and _ (at most 64): {intent[:64]!r} is not")
    return intent


async def inbox_item(request: Request, key: str) -> Any:
    """The inbox's item of this key, read on the server: what is taught is the masked text it lists, never a text the
    client sends."""
    items = await asyncio.to_thread(request.app.ctx.inbox.all_items)
    item = next((i for i in items if i.key == key), None)
    if item is None:
        raise NotFound("that message is no longer in the inbox (decided already, or older than the inbox looks)")
    return item


@bp.post("/api/train/inbox/decide")
@requires("trainer")
async def decide(request: Request) -> response.HTTPResponse:
    """One inbox row decided: "correct" (taught as its predicted intent), "intent" (taught as the intent given,
    `new` to create it) or "ignore"; then the row is resolved and is not listed again."""
    ctx, by = request.app.ctx, request.ctx.user.username
    data = json_body(request)
    key, decision = str(data.get("key") or ""), data.get("decision")
    if not key:
        raise BadInput("say which inbox row (its key)")
    if decision not in ("correct", "intent", "ignore"):
        raise BadInput("decision must be correct, intent or ignore")
    item = await inbox_item(request, key)
    change = None
    if decision == "ignore":
        await asyncio.to_thread(ctx.inbox.resolve, key, "ignored", None, by)
    else:
        if decision == "correct" and item.intent in (None, FALLBACK):
            raise BadInput("the bot had no intent for this message to confirm: choose one (change intent)")
        intent = intent_field({"intent": item.intent} if decision == "correct" else data)
        # the masked text: teach() writes its placeholders ([order], [email]...) as sample values
        change = await asyncio.to_thread(ctx.changes.teach, intent, item.text, by, new=bool(data.get("new")),
                                         source="inbox")
        await asyncio.to_thread(ctx.inbox.resolve, key, "applied", intent, by)
    logger.info("%s decided inbox row: %s", loggable(by), decision)
    return response.json({"decision": decision, "change": change.public() if change else None}, default=str)


@bp.get("/api/train/conversations/<cid:str>")
@requires("trainer")
async def context(request: Request, cid: str) -> response.HTTPResponse:
    """What was said around an inbox message, masked like the inbox (emails, order and phone numbers, names), the
    bot's turns too: trainers judge what the visitor meant, they do not read the customer's data. Only the conversation
    of a message the inbox lists (admins read every conversation in the console anyway)."""
    if request.ctx.user.role != "admin":
        items = await asyncio.to_thread(request.app.ctx.inbox.all_items)
        if not any(item.conversation_id == cid for item in items):
            raise Forbidden("trainers read the conversations of the inbox's messages only")
    tracker = await request.app.ctx.rasa.tracker(cid)  # RasaUnavailable: 502
    turns = history_from_events(tracker.get("events") or [])
    if not turns:
        raise NotFound("no such conversation")
    return response.json({"conversation_id": cid, "transcript": [
        {"sender": t["sender"], "text": mask(t["text"]), "timestamp": t.get("timestamp")} for t in turns]})


# --- intents and their examples ----------------------------------------------------------------------------
def intent_counts(nlu_dir: Path, search: str = "") -> List[Dict[str, Any]]:
    """Every intent of the NLU files with its number of examples and its file, by name; with `search`, the intents
    whose name or any example has it (any case), with how many of their examples do."""
    wanted = search.lower()
    found: Dict[str, Dict[str, Any]] = {}
    for path in sorted(nlu_dir.glob("*.yml")):
        for name, block in blocks(path.read_text(encoding="utf-8")).items():
            entry = found.setdefault(name, {"name": name, "examples": 0, "file": path.name, "matches": 0})
            entry["examples"] += len(block.examples)
            entry["matches"] += sum(wanted in example.text.lower() for example in block.examples) if wanted else 0
    shown = [e for e in found.values() if not wanted or wanted in e["name"] or e["matches"]]
    return sorted(shown, key=lambda entry: entry["name"])


@bp.get("/api/train/intents")
@requires("trainer")
async def intents(request: Request) -> response.HTTPResponse:
    nlu_dir = request.app.ctx.settings.train_data_dir / "nlu"
    search = (request.args.get("search") or "").strip()[:200]
    return response.json({"intents": await asyncio.to_thread(intent_counts, nlu_dir, search)})


@bp.get("/api/train/intents/<intent:str>")
@requires("trainer")
async def examples(request: Request, intent: str) -> response.HTTPResponse:
    intent = intent_field({"intent": intent})
    texts = await asyncio.to_thread(request.app.ctx.changes.nlu.examples_of, intent)  # unknown: NluDataError, 400
    return response.json({"intent": intent, "examples": texts})


@bp.post("/api/train/examples")
@requires("trainer")
async def add_example(request: Request) -> response.HTTPResponse:
    """An example taught to an intent (`new`: an intent not there yet); an example of another intent moves."""
    data = json_body(request)
    intent, text = intent_field(data), text_field(data, "text", MAX_EXAMPLE, "example")
    change = await asyncio.to_thread(request.app.ctx.changes.teach, intent, text, request.ctx.user.username,
                                     new=bool(data.get("new")), source="console")
    return response.json({"change": change.public()}, status=201, default=str)


@bp.post("/api/train/examples/remove")
@requires("trainer")
async def remove_example(request: Request) -> response.HTTPResponse:
    text = text_field(json_body(request), "text", MAX_EXAMPLE, "example")
    change = await asyncio.to_thread(request.app.ctx.changes.unteach, text, request.ctx.user.username, "console")
    return response.json({"change": change.public()}, default=str)


@bp.post("/api/train/faq")
@requires("trainer")
async def add_faq(request: Request) -> response.HTTPResponse:
    """A new FAQ: its intent (faq_*), a few example questions, the answer (bot.training.faq)."""
    data = json_body(request)
    name = intent_field(data, "intent")
    questions = faq_examples(data.get("examples"))
    answer = text_field(data, "answer", MAX_ANSWER, "answer")
    ctx = request.app.ctx
    change = await asyncio.to_thread(faq.add_faq, name, questions, answer, request.ctx.user.username,
                                     changes=ctx.changes, facts_file=ctx.settings.shop_facts_file)
    return response.json({"change": change.public()}, status=201, default=str)


def faq_examples(value: Any) -> List[str]:
    """The example questions of a new FAQ, one per line or as a list; at least two, none too long."""
    lines = value.splitlines() if isinstance(value, str) else value if isinstance(value, list) else []
    texts = [str(line).strip() for line in lines if str(line).strip()]
    if len(texts) < 2:
        raise BadInput("give at least two example questions, one per line")
    if len(texts) > MAX_FAQ_EXAMPLES or any(len(t) > MAX_EXAMPLE for t in texts):
        raise BadInput(f"at most {MAX_FAQ_EXAMPLES} example questions of at most {MAX_EXAMPLE} characters")
    return texts


# --- the history -------------------------------------------------------------------------------------------
@bp.get("/api/train/history")
@requires("trainer")
async def history(request: Request) -> response.HTTPResponse:
    limit, _ = paging(request)
    changes = await asyncio.to_thread(request.app.ctx.changes.history, limit)
    return response.json({"changes": [c.public() for c in changes]}, default=str)


@bp.post("/api/train/history/<change_id:int>/undo")
@requires("trainer")
async def undo(request: Request, change_id: int) -> response.HTTPResponse:
    change = await asyncio.to_thread(request.app.ctx.changes.undo, change_id, request.ctx.user.username)
    return response.json({"change": change.public()}, default=str)


@bp.post("/api/train/history/<change_id:int>/redo")
@requires("trainer")
async def redo(request: Request, change_id: int) -> response.HTTPResponse:
    """An undone change made again (an undo itself is not undone): the example taught to its intent once more, or
    removed once more."""
    changes, by = request.app.ctx.changes, request.ctx.user.username
    change = await asyncio.to_thread(changes.get, change_id)  # unknown: TrainingError, 400
    if change.undone_by is None or change.kind not in ("add", "move", "remove"):
        raise BadInput(f"change {change_id} is not an undone change of an example: there is nothing to redo")
    if change.kind == "remove":
        again = await asyncio.to_thread(changes.unteach, change.text, by, "console")
    else:
        again = await asyncio.to_thread(changes.teach, change.intent, change.text, by, source="console")
    return response.json({"change": again.public()}, default=str)


# --- training and models -----------------------------------------------------------------------------------
@bp.post("/api/train/jobs")
@requires("trainer")
async def start_job(request: Request) -> response.HTTPResponse:
    cross_validate = bool(json_body(request).get("cross_validate"))
    job = await asyncio.to_thread(request.app.ctx.jobs.start, request.ctx.user.username, cross_validate)
    return response.json({"job": public(job)}, status=202, default=str)


@bp.get("/api/train/jobs/latest")
@requires("trainer")
async def latest_job(request: Request) -> response.HTTPResponse:
    job = await asyncio.to_thread(request.app.ctx.jobs.latest)
    return response.json({"job": public(job)}, default=str)


@bp.get("/api/train/jobs/<job_id:str>")
@requires("trainer")
async def job_status(request: Request, job_id: str) -> response.HTTPResponse:
    status = await asyncio.to_thread(request.app.ctx.jobs.status, job_id)
    return response.json({"job": public(status)}, default=str)


@bp.get("/api/train/models")
@requires("trainer")
async def models(request: Request) -> response.HTTPResponse:
    store = request.app.ctx.models
    active, candidates, activations = await asyncio.gather(
        asyncio.to_thread(store.active), asyncio.to_thread(store.candidates), asyncio.to_thread(store.activations, 50))
    return response.json({"active": public(active), "candidates": [public(c) for c in candidates],
                          "activations": [public(a) for a in activations]}, default=str)


def reason_field(data: Dict[str, Any]) -> str:
    return text_field(data, "reason", MAX_REASON, "reason")


@bp.post("/api/train/models/<candidate:str>/activate")
@requires("trainer")
async def activate(request: Request, candidate: str) -> response.HTTPResponse:
    """The candidate made active in every replica, with a reason; `force` (admins only) past the gate's reasons, which
    the log keeps."""
    data = json_body(request)
    reason, force = reason_field(data), bool(data.get("force"))
    ctx, user = request.app.ctx, request.ctx.user
    if force and user.role != "admin":
        raise Forbidden("only an admin may activate a model the gate refuses")
    done = await asyncio.to_thread(ctx.models.activate, candidate, user.username, reason, ctx.settings.replicas,
                                   ctx.settings.rasa_token, force)
    logger.info("%s activated model %s%s", loggable(user.username), loggable(candidate), " past the gate" if force else "")
    return response.json({"activation": public(done)}, default=str)


@bp.post("/api/train/models/rollback")
@requires("trainer")
async def rollback(request: Request) -> response.HTTPResponse:
    reason = reason_field(json_body(request))
    ctx = request.app.ctx
    done = await asyncio.to_thread(ctx.models.rollback, request.ctx.user.username, reason, ctx.settings.replicas,
                                   ctx.settings.rasa_token)
    logger.info("%s rolled the model back", loggable(request.ctx.user.username))
    return response.json({"activation": public(done)}, default=str)


def public(thing: Optional[Any]) -> Optional[Any]:
    """What the back end gives, as JSON: its .public() when it has one, else as it is (a dict, None)."""
    if thing is None or isinstance(thing, (dict, str)):
        return thing
    return thing.public() if hasattr(thing, "public") else thing
