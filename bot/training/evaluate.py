"""How good a model is: the blind sets per intent (precision, recall, F1, confusions), the conversation tests,
k-fold cross-validation of the training data; `report()` puts a candidate beside the active model and
`gate()` says why a candidate may not replace it. benchmarks/nlu.py prints the same figures.

Everything here loads models or trains: it runs in the training job's process (bot/training/jobs.py) or in
`make evaluate`, never in a server's event loop.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from bot.settings import ROOT

FALLBACK = "nlu_fallback"
BLIND_SET = ROOT / "tests" / "data" / "blind_intents.yml"
HOLDOUT_SET = ROOT / "tests" / "data" / "holdout_intents.yml"  # written after the tuning: nothing was chosen on it
BLIND_SETS: Dict[str, Path] = {"blind": BLIND_SET, "holdout": HOLDOUT_SET}
TOP_CONFUSIONS = 10
CACHE_DIR = "evaluations"  # in models_dir: an active model's blind figures, by the model file's sha256
Example = Tuple[str, str]  # (text, intent)


def load_examples(data_dir: Path = ROOT / "data") -> List[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(data_dir / "nlu"))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def same_to_the_model(text: str) -> str:
    """Lowercase words with order numbers, other numbers and emails blanked: "refund order 100482" and
    "Refund order #100937!" are one example to the classifier (see bot.nlu.tokenizer)."""
    from bot.nlu.entities import EMAIL

    text = EMAIL.sub(" @ ", text).lower()
    text = re.sub(r"#?\d+", " 0 ", text)
    return " ".join(re.sub(r"[^a-z0-9@ ]+", " ", text).split())


def folds(examples: List[Example], k: int, seed: int = 7) -> List[List[Example]]:
    """Stratified: each intent's examples are dealt round-robin over the k folds. Examples that read
    the same to the model go to the same fold, so none is tested against its own twin."""
    by_intent: Dict[str, Dict[str, List[Example]]] = defaultdict(lambda: defaultdict(list))
    for example in examples:
        by_intent[example[1]][same_to_the_model(example[0])].append(example)
    rng = random.Random(seed)
    out: List[List[Example]] = [[] for _ in range(k)]
    for intent in sorted(by_intent):
        groups = sorted(by_intent[intent].values())
        rng.shuffle(groups)
        for i, group in enumerate(groups):
            out[i % k].extend(group)
    return out


def write_nlu(path: Path, examples: List[Example]) -> None:
    import yaml

    class Literal(str):
        pass

    grouped: Dict[str, List[str]] = defaultdict(list)
    for text, intent in examples:
        grouped[intent].append(text)
    nlu = [{"intent": i, "examples": Literal("".join(f"- {t}\n" for t in texts))} for i, texts in grouped.items()]
    class LiteralDumper(yaml.SafeDumper):
        pass

    LiteralDumper.add_representer(Literal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|"))
    path.write_text(yaml.dump({"version": "3.1", "nlu": nlu}, Dumper=LiteralDumper, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


def train_nlu(nlu_file: Path, out_dir: Path, config: Path = ROOT / "config.yml",
              domain: Path = ROOT / "domain") -> Tuple[Path, float]:
    from rasa.model_training import train_nlu as rasa_train_nlu

    start = time.perf_counter()
    model = rasa_train_nlu(str(config), str(nlu_file), str(out_dir), domain=str(domain))
    return Path(model), time.perf_counter() - start


PREDICT_BATCH = 64


def predict(model: Path, texts: Sequence[str], batch: int = PREDICT_BATCH) -> List[dict]:
    """Rasa's parse of each text by the model (loaded once, in this process), as its server would answer it.

    The NLU graph runs on `batch` messages at a time rather than one by one (its components take lists, and the
    sentence encoder pads a batch at once): several times faster for the thousands of texts an evaluation scores.
    tests/integration/test_nlu.py checks that it gives what parsing one message at a time gives."""
    from rasa.core.agent import Agent

    processor = Agent.load(str(model)).processor
    assert processor is not None
    return [parse for start in range(0, len(texts), batch) for parse in parse_batch(processor, texts[start:start + batch])]


def parse_batch(processor: Any, texts: Sequence[str]) -> List[dict]:
    """processor.parse_message's answer for each text, from one run of the NLU graph over all of them."""
    from rasa.core.channels import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker

    results = processor.graph_runner.run(
        inputs={PLACEHOLDER_MESSAGE: [UserMessage(text) for text in texts],
                PLACEHOLDER_TRACKER: DialogueStateTracker.from_events("evaluate", [])},
        targets=[processor.model_metadata.nlu_target])
    parses = []
    for message in results[processor.model_metadata.nlu_target]:
        parse = {"text": "", "intent": {"name": None, "confidence": 0.0}, "entities": []}
        parse.update(message.as_dict(only_output_properties=True))
        processor._update_full_retrieval_intent(parse)
        parses.append(parse)
    return parses


def raw_intent(parse: dict) -> str:
    """The classifiers' own top intent, looking past the fallback classifier."""
    for ranked in parse.get("intent_ranking", []):
        if ranked["name"] != FALLBACK:
            return str(ranked["name"])
    return str(parse["intent"]["name"])


def load_blind(path: Path = BLIND_SET) -> List[Example]:
    """A blind set's (text, intent) pairs: written from the intents' descriptions, never trained on."""
    import yaml

    return [(e["text"], e["intent"]) for e in yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]]


def ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def intent_scores(truth: Sequence[str], predicted: Sequence[str], top: int = TOP_CONFUSIONS) -> Dict[str, Any]:
    """Per intent of the truth: precision, recall, F1, support; their unweighted means; the commonest confusions.
    A prediction of an intent the set does not hold (the fallback, say) lowers recall only."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    pairs = list(zip(truth, predicted, strict=True))
    per: Dict[str, Dict[str, float]] = {}
    for label in sorted(set(truth)):
        tp = sum(t == label and p == label for t, p in pairs)
        fp = sum(p == label and t != label for t, p in pairs)
        support = sum(t == label for t in truth)
        precision, recall = ratio(tp, tp + fp), ratio(tp, support)
        f1 = ratio(2 * tp, 2 * tp + fp + (support - tp))  # = 2PR/(P+R), 0 when nothing matched
        per[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    confused = Counter((t, p) for t, p in pairs if t != p)
    return {
        "examples": len(pairs),
        "accuracy": ratio(sum(t == p for t, p in pairs), len(pairs)),
        "rephrase_rate": ratio(sum(p == FALLBACK for p in predicted), len(pairs)),
        "macro": {key: ratio(sum(s[key] for s in per.values()), len(per)) for key in ("precision", "recall", "f1")},
        "intents": per,
        "confusions": [{"true": t, "predicted": p, "count": n} for (t, p), n in confused.most_common(top)],
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def blind_scores(model: Path, sets: Dict[str, Path] = BLIND_SETS) -> Dict[str, Dict[str, Any]]:
    """Each blind set scored on what the visitor gets (asked to rephrase counts as a miss); one model load."""
    examples = {name: load_blind(path) for name, path in sets.items()}
    texts = [text for pairs in examples.values() for text, _ in pairs]
    parses = iter(predict(model, texts))
    out = {}
    for name, pairs in examples.items():
        served = [str(next(parses)["intent"]["name"]) for _ in pairs]
        out[name] = intent_scores([intent for _, intent in pairs], served)
    return out


def sets_digest(sets: Dict[str, Path]) -> str:
    digest = hashlib.sha256()
    for name in sorted(sets):
        digest.update(name.encode() + b"\0" + sets[name].read_bytes())
    return digest.hexdigest()[:16]


def cached_blind_scores(model: Path, cache_dir: Path, sets: Dict[str, Path] = BLIND_SETS) -> Dict[str, Any]:
    """blind_scores of a model already evaluated once (the active one) from cache_dir, by the model file's sha256
    and the sets' contents; computed and kept otherwise."""
    cache = cache_dir / f"{file_sha256(model)}-{sets_digest(sets)}.json"
    try:
        return dict(json.loads(cache.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    scores = blind_scores(model, sets)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp")
    partial.write_text(json.dumps(scores), encoding="utf-8")
    partial.replace(cache)
    return scores


def story_names(stories_dir: Path) -> List[str]:
    import yaml

    names = []
    for path in sorted(stories_dir.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names += [str(s.get("story") or s.get("rule")) for s in (content.get("stories") or []) + (content.get("rules") or [])]
    return names


def conversation_tests(model: Path, stories_dir: Path, out_dir: Path, env: Optional[Dict[str, str]] = None,
                       timeout: float = 1200) -> Dict[str, Any]:
    """`rasa test core` on the stories: passed, and the names of the stories that failed. Held to what
    tests/integration/test_conversation.py asks with --fail-on-prediction-errors (a wrong intent or action fails
    a story), but without that flag, which stops at the first failure before Rasa writes which stories failed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--stories", str(stories_dir), "--model", str(model),
         "--out", str(out_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    failed = failed_stories(out_dir / "failed_test_stories.yml")
    passed = result.returncode == 0 and not failed
    outcome: Dict[str, Any] = {"passed": passed, "stories": len(story_names(stories_dir)), "failed": failed}
    if not passed and not failed:  # it did not get as far as the stories
        outcome["error"] = (result.stdout[-1500:] + result.stderr[-1500:]).strip() or f"exit {result.returncode}"
    return outcome


def failed_stories(path: Path) -> List[str]:
    """The story names in Rasa's failed_test_stories.yml (absent, or a comment only, when all passed)."""
    import yaml

    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError:
        return []
    return [str(s.get("story")) for s in content.get("stories") or []]


def weakest(scores: Dict[str, Any], n: int) -> List[Tuple[str, float]]:
    """The n intents with the lowest F1 in intent_scores(): where a trainer's next examples help most."""
    return sorted(((i, s["f1"]) for i, s in scores["intents"].items()), key=lambda pair: pair[1])[:n]


def threshold_table(truth: List[str], ranked: List[List[dict]], ambiguity: float = 0.1) -> List[Tuple[float, float, float]]:
    """(threshold, rephrase rate, wrong-answer rate) as the FallbackClassifier would decide."""
    rows = []
    for threshold in (0.3, 0.4, 0.5, 0.6):
        fallback = wrong = 0
        for intent, ranking in zip(truth, ranked, strict=True):
            top = ranking[0]
            second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
            if top["confidence"] < threshold or top["confidence"] - second < ambiguity:
                fallback += 1
            elif top["name"] != intent:
                wrong += 1
        rows.append((threshold, fallback / len(truth), wrong / len(truth)))
    return rows


def cross_validate(k: int, data_dir: Path = ROOT / "data", config: Path = ROOT / "config.yml",
                   domain: Path = ROOT / "domain", on_fold: Any = None) -> Dict[str, Any]:
    """Stratified k-fold cross-validation of the NLU data: each fold held out of a training on the rest.
    on_fold(i, k, seconds) is told as each fold is done."""
    examples = load_examples(data_dir)
    parts = folds(examples, k)
    truth: List[str] = []
    raw: List[str] = []
    served: List[str] = []
    ranked: List[List[dict]] = []
    train_seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(k):
            nlu_file = Path(tmp) / f"fold{i}.yml"
            write_nlu(nlu_file, [e for j, part in enumerate(parts) if j != i for e in part])
            model, seconds = train_nlu(nlu_file, Path(tmp) / f"model{i}", config, domain)
            train_seconds.append(seconds)
            parses = predict(model, [t for t, _ in parts[i]])
            truth += [intent for _, intent in parts[i]]
            raw += [raw_intent(p) for p in parses]
            ranked += [[r for r in p["intent_ranking"] if r["name"] != FALLBACK] for p in parses]
            served += [str(p["intent"]["name"]) for p in parses]
            if on_fold:
                on_fold(i, k, seconds)
    return cv_figures(truth, raw, served, ranked, train_seconds, len(examples))


def cv_figures(truth: List[str], raw: List[str], served: List[str], ranked: List[List[dict]],
               train_seconds: List[float], examples: int) -> Dict[str, Any]:
    scores = intent_scores(truth, raw)
    confused = Counter((t, p) for t, p in zip(truth, raw, strict=True) if t != p)
    return {
        "examples": examples,
        "intents": len(set(truth)),
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro"]["f1"],
        "confused": confused.most_common(3),
        "weakest": weakest(scores, 5),
        "fallback_rate": ratio(served.count(FALLBACK), len(truth)),
        "wrong_answer_rate": ratio(sum(s not in (FALLBACK, t) for s, t in zip(served, truth, strict=True)), len(truth)),
        "train_seconds": sum(train_seconds) / len(train_seconds) if train_seconds else 0.0,
        "thresholds": threshold_table(truth, ranked),
        "scores": scores,
    }


def model_entry(model: Path, blind: Dict[str, Any]) -> Dict[str, Any]:
    return {"file": model.name, "sha256": file_sha256(model), "blind": blind}


def compare(candidate: Dict[str, Any], active: Optional[Dict[str, Any]]) -> Dict[str, List[Dict[str, Any]]]:
    """Per blind set and intent: the candidate's F1 beside the active model's (None without one), worst change first."""
    out: Dict[str, List[Dict[str, Any]]] = {}
    for name, scores in candidate["blind"].items():
        theirs = ((active or {}).get("blind") or {}).get(name, {}).get("intents", {})
        rows = []
        for intent in sorted(set(scores["intents"]) | set(theirs)):
            new = scores["intents"].get(intent, {}).get("f1", 0.0)
            old = theirs[intent]["f1"] if intent in theirs else None
            rows.append({"intent": intent, "candidate_f1": new, "active_f1": old,
                         "change": None if old is None else new - old})
        out[name] = sorted(rows, key=lambda r: (r["change"] is None, r["change"] or 0.0, r["intent"]))
    return out


def build_report(candidate: Dict[str, Any], active: Optional[Dict[str, Any]], conversations: Optional[Dict[str, Any]],
                 cross_validation: Optional[Dict[str, Any]] = None, margin: float = 0.05) -> Dict[str, Any]:
    """The report, JSON as it is: the two models' blind figures, the comparison, the tests, and the gate's verdict."""
    from datetime import datetime, timezone

    report: Dict[str, Any] = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "candidate": candidate,
        "active": active,
        "comparison": compare(candidate, active),
        "conversation_tests": conversations,
        "cross_validation": cross_validation,
        "margin": margin,
    }
    report["gate"] = gate(report, margin)
    return report


def report(candidate: Path, active: Optional[Path], stories_dir: Optional[Path], work_dir: Path, *,
           margin: float = 0.05, cache_dir: Optional[Path] = None, env: Optional[Dict[str, str]] = None,
           folds_k: int = 0, data_dir: Path = ROOT / "data", config: Path = ROOT / "config.yml",
           domain: Path = ROOT / "domain") -> Dict[str, Any]:
    """Evaluate the candidate (and the active model, cached by its sha256 when cache_dir is given) in one go."""
    conversations = conversation_tests(candidate, stories_dir, work_dir / "conversations", env) if stories_dir else None
    mine = model_entry(candidate, blind_scores(candidate))
    theirs = None
    if active is not None and active.exists():
        blind = cached_blind_scores(active, cache_dir) if cache_dir else blind_scores(active)
        theirs = model_entry(active, blind)
    cv = cross_validate(folds_k, data_dir, config, domain) if folds_k >= 2 else None
    return build_report(mine, theirs, conversations, cv, margin)


def gate(report: Optional[Dict[str, Any]], margin: float) -> List[str]:
    """Why this candidate may not replace the active model; an empty list: it may. A first model (no active
    one) is held to the conversation tests alone."""
    if not isinstance(report, dict) or not isinstance(report.get("candidate"), dict):
        return ["no evaluation report: train and evaluate the model first"]
    reasons = conversation_reasons(report.get("conversation_tests"))
    blind = (report["candidate"].get("blind") or {}).get("blind")
    if not isinstance(blind, dict):
        return reasons + ["the candidate has no blind-set figures"]
    active = (((report.get("active") or {}).get("blind")) or {}).get("blind")
    if isinstance(active, dict):
        reasons += f1_drops(active["intents"], blind["intents"], margin)
    return reasons


def conversation_reasons(outcome: Any) -> List[str]:
    if not isinstance(outcome, dict):
        return ["the conversation tests did not run"]
    if outcome.get("passed"):
        return []
    failed = outcome.get("failed") or []
    if failed:
        return [f"conversation test failed: {name}" for name in failed]
    return [f"the conversation tests did not finish: {str(outcome.get('error', 'unknown error'))[-300:]}"]


def f1_drops(active: Dict[str, Any], candidate: Dict[str, Any], margin: float) -> List[str]:
    reasons = []
    for intent in sorted(active):
        old = float(active[intent]["f1"])
        new = float(candidate.get(intent, {}).get("f1", 0.0))
        if old - new > margin + 1e-9:
            reasons.append(f"blind-set F1 of {intent} fell from {old:.3f} to {new:.3f} (more than {margin:.3f})")
    return reasons


def describe(report: Dict[str, Any], changes: int = 10) -> Iterable[str]:
    """The report as lines for a terminal."""
    for name, label in (("candidate", "candidate"), ("active", "active")):
        entry = report.get(name)
        if not entry:
            yield f"{label}: none"
            continue
        for set_name, scores in entry["blind"].items():
            macro = scores["macro"]
            yield (f"{label} {entry['file']} ({entry['sha256'][:12]}) {set_name}: accuracy {scores['accuracy']:.3f}, "
                   f"macro P/R/F1 {macro['precision']:.3f}/{macro['recall']:.3f}/{macro['f1']:.3f}, "
                   f"asked to rephrase {scores['rephrase_rate']:.1%}")
        confusions = entry["blind"].get("blind", {}).get("confusions", [])[:5]
        yield "  most confused: " + "; ".join(f"{c['true']} -> {c['predicted']} ({c['count']})" for c in confusions)
    for row in [r for r in report["comparison"].get("blind", []) if r["change"]][:changes]:
        yield f"  {row['intent']}: F1 {row['active_f1']:.3f} -> {row['candidate_f1']:.3f} ({row['change']:+.3f})"
    tests = report.get("conversation_tests")
    if tests:
        yield f"conversation tests: {'passed' if tests['passed'] else 'FAILED'} ({tests['stories']} stories)"
    cv = report.get("cross_validation")
    if cv:
        yield f"cross-validation: accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macro_f1']:.3f}"
    yield "gate: " + ("may be activated" if not report["gate"] else "refused: " + "; ".join(report["gate"]))


def quiet_libraries() -> None:
    """Rasa logs every parse at debug level through structlog; a report (make evaluate, make bench) wants only its
    figures."""
    import warnings

    import structlog

    logging.basicConfig(level=logging.WARNING)
    for noisy in ("rasa", "tensorflow", "absl"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    warnings.filterwarnings("ignore")
