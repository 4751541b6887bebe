"""A new FAQ in one step: its `faq_*` intent with examples (data/nlu/faq.yml), its answer (shop/facts.yml under
`answers:`, one line appended, every other byte kept), the rule that answers it (data/rules/answers.yml), the
intent in the domain and domain/answers.yml rendered again; logged in the change history (source "faq").

Everything is checked before anything is written, and a failure part-way puts every file back as it was.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import List, Optional

import yaml

from bot import shop
from bot.training.changes import Change, TrainingChanges, TrainingError
from bot.training.masking import example_text
from bot.training.nlu_data import (
    NluData,
    NluDataError,
    Plan,
    Saved,
    blocks,
    check_intent,
    check_text,
    domain_intents,
    restore,
    write_all,
    write_bytes,
)

FAQ_INTENT = re.compile(r"faq_[a-z0-9_]+")
FAQ_FILE = "faq.yml"
RULES_FILE = "answers.yml"
MAX_ANSWER = 1000
MAX_EXAMPLES = 50


def add_faq(intent: str, examples: List[str], answer: str, by: str, *, changes: TrainingChanges,
            facts_file: Path, rules_file: Optional[Path] = None, answers_domain: Optional[Path] = None) -> Change:
    """Create the FAQ `intent` answered with `answer` ({fact} placeholders of shop/facts.yml allowed)."""
    nlu = changes.nlu
    rules = rules_file or nlu.nlu_dir.parent / "rules" / RULES_FILE
    rendered = answers_domain or nlu.domain_dir / shop.ANSWERS_DOMAIN_FILE.name
    with nlu.editing():  # no teach, import or CLI edit in between, in this process or another
        texts = _check(intent, examples, answer, changes, facts_file)
        facts_text = _append_answer(facts_file.read_text(encoding="utf-8"), f"utter_{intent}", answer)
        rules_text = _append_rule(rules.read_text(encoding="utf-8"), intent)
        saved: Saved = {}
        try:
            for i, text in enumerate(texts):
                plan = nlu.plan_add(intent, text, new=i == 0, file=FAQ_FILE if i == 0 else None)[1]
                _save(saved, *plan)
                write_all(plan)
            _save(saved, facts_file, rules, rendered)
            write_bytes(facts_file, facts_text.encode("utf-8"))
            write_bytes(rules, rules_text.encode("utf-8"))
            shop.write_answers(facts_file, rendered)
            return changes.record(by, "faq", "faq", intent, texts[0], file=f"data/nlu/{FAQ_FILE}",
                                  detail={"examples": texts, "answer": answer, "response": f"utter_{intent}",
                                          "facts_file": str(facts_file), "rules_file": str(rules),
                                          "answers_domain": str(rendered)})
        except BaseException:
            restore(saved)  # only the files this FAQ wrote
            raise


def _save(saved: Saved, *paths: Optional[Path]) -> None:
    """The bytes before this FAQ of each file about to be written (first sight only)."""
    for path in paths:
        if path is not None and path not in saved:
            saved[path] = path.read_bytes() if path.exists() else None


def _check(intent: str, examples: List[str], answer: str, changes: TrainingChanges, facts_file: Path) -> List[str]:
    """The examples as they will be written; TrainingError for anything that would not make a valid FAQ."""
    try:
        check_intent(intent)
        texts = [check_text(example_text(check_text(e))) for e in examples]
    except NluDataError as err:
        raise TrainingError(str(err)) from None
    if not FAQ_INTENT.fullmatch(intent) or len(intent) > 64:
        raise TrainingError(f"an FAQ intent is named faq_<topic> (a-z, 0-9, _), not {intent!r}")
    nlu = changes.nlu
    if nlu.file_of(intent) or any(intent in domain_intents(p.read_text(encoding="utf-8"))
                                  for p in nlu.domain_dir.glob("*.yml")):
        raise TrainingError(f"the intent {intent} exists already")
    if not texts or len(texts) > MAX_EXAMPLES:
        raise TrainingError(f"an FAQ needs 1 to {MAX_EXAMPLES} examples")
    keys = set()
    for text in texts:
        found = nlu.find(text)
        if found:
            raise TrainingError(f"{text!r} is already an example of {found[0].example.intent}")
        keys.add(tuple(_key(text)))
    if len(keys) < len(texts):
        raise TrainingError("two of the examples are the same")
    _check_answer(intent, answer, facts_file)
    return texts


def _key(text: str) -> List[str]:
    from bot.training.nlu_data import comparison_key

    return comparison_key(text).split()


def _check_answer(intent: str, answer: str, facts_file: Path) -> None:
    if not answer.strip() or len(answer) > MAX_ANSWER or "\n" in answer or "\r" in answer:
        raise TrainingError(f"the answer is one line of 1 to {MAX_ANSWER} characters")
    data = shop.load(facts_file)
    if f"utter_{intent}" in data["answers"]:
        raise TrainingError(f"shop facts already have an answer utter_{intent}")
    try:
        shop.fill(answer, data["facts"])
    except shop.ShopFactsError as err:
        raise TrainingError(f"{err} (facts are named in {{braces}}; write {{{{ and }}}} for a brace)") from None
    except (ValueError, IndexError, KeyError) as err:
        raise TrainingError(f"the answer's braces do not read as {{fact}} placeholders: {err}") from None


def _append_answer(text: str, name: str, answer: str) -> str:
    """One line `  utter_x: "..."` after the last line of the `answers:` mapping; checked by reading it back."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^answers:\s*(#.*)?$", line)), None)
    if start is None:
        raise TrainingError("the shop facts file has no `answers:` mapping")
    last = start
    for i in range(start + 1, len(lines)):
        if lines[i].strip() and not lines[i].startswith((" ", "#")):
            break
        if lines[i].startswith("  ") and lines[i].strip() and not lines[i].lstrip().startswith("#"):
            last = i
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines.insert(last + 1, f"  {name}: {json.dumps(answer, ensure_ascii=False)}\n")
    out = "".join(lines)
    loaded = yaml.safe_load(out)
    if not isinstance(loaded, dict) or (loaded.get("answers") or {}).get(name) != answer:
        raise TrainingError("the answer could not be written into the shop facts file safely")
    return out


def _append_rule(text: str, intent: str) -> str:
    topic = intent[len("faq_"):].replace("_", " ")
    block = f"- rule: answer faq {topic}\n  steps:\n  - intent: {intent}\n  - action: utter_{intent}\n"
    return (text if text.endswith("\n") else text + "\n") + "\n" + block


def plan_undo(change: Change, nlu: NluData) -> Plan:
    """What undoing the FAQ `change` writes: its intent's block, domain entry, answer line and rule taken out and
    the answers rendered again; TrainingError if any of them changed since (nothing is written)."""
    detail, intent = change.detail, change.intent or ""
    if not all(detail.get(k) for k in ("facts_file", "rules_file", "answers_domain", "examples")):
        raise TrainingError(f"change {change.id} was logged before FAQs could be undone; edit the files by hand")
    facts, rules, rendered = (Path(detail[k]) for k in ("facts_file", "rules_file", "answers_domain"))
    path = nlu.nlu_dir / FAQ_FILE
    block = blocks(path.read_text(encoding="utf-8")).get(intent) if path.exists() else None
    if block is None or [e.text for e in block.examples] != detail["examples"]:
        raise TrainingError(f"change {change.id} cannot be undone: the examples of {intent} changed since")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    plan: Plan = {path: "".join(lines[:block.header] + lines[block.last_line + 1:])}
    domain = [p for p in sorted(nlu.domain_dir.glob("*.yml")) if f"  - {intent}\n" in p.read_text(encoding="utf-8")]
    if len(domain) != 1:
        raise TrainingError(f"change {change.id} cannot be undone: {intent} is not once in the domain's intents")
    plan[domain[0]] = _without(domain[0].read_text(encoding="utf-8"), f"  - {intent}\n", change)
    answer = f"  utter_{intent}: {json.dumps(detail['answer'], ensure_ascii=False)}\n"
    plan[facts] = _without(facts.read_text(encoding="utf-8"), answer, change)
    rule = "\n" + _append_rule("", intent).lstrip("\n")
    plan[rules] = _without(rules.read_text(encoding="utf-8"), rule, change)
    plan[rendered] = _render(facts, plan[facts])
    return plan


def _without(text: str, part: str, change: Change) -> str:
    if text.count(part) != 1:
        raise TrainingError(f"change {change.id} cannot be undone: {part.strip()!r} changed since")
    return text.replace(part, "", 1)


def _render(facts: Path, text: str) -> str:
    """domain/answers.yml as it reads for facts `text` (rendered from a temporary copy beside the file)."""
    fd, tmp = tempfile.mkstemp(dir=facts.parent, suffix=".yml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return shop.render_answers(Path(tmp))
    finally:
        Path(tmp).unlink(missing_ok=True)
