"""Intent accuracy and macro-F1 by stratified k-fold cross-validation on data/nlu, and parse latency."""
from __future__ import annotations

import asyncio
import random
import re
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

from benchmarks.stats import heading, summary_ms
from bot.settings import ROOT

FALLBACK = "nlu_fallback"


def load_examples() -> List[Tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def same_to_the_model(text: str) -> str:
    """Lowercase words with order numbers, other numbers and emails blanked: "refund order 100482" and
    "Refund order #100937!" are one example to the classifier (see bot.nlu.tokenizer)."""
    from bot.nlu.entities import EMAIL

    text = EMAIL.sub(" @ ", text).lower()
    text = re.sub(r"#?\d+", " 0 ", text)
    return " ".join(re.sub(r"[^a-z0-9@ ]+", " ", text).split())


def folds(examples: List[Tuple[str, str]], k: int, seed: int = 7) -> List[List[Tuple[str, str]]]:
    """Stratified: each intent's examples are dealt round-robin over the k folds. Examples that read
    the same to the model go to the same fold, so none is tested against its own twin."""
    by_intent: Dict[str, Dict[str, List[Tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for example in examples:
        by_intent[example[1]][same_to_the_model(example[0])].append(example)
    rng = random.Random(seed)
    out: List[List[Tuple[str, str]]] = [[] for _ in range(k)]
    for intent in sorted(by_intent):
        groups = sorted(by_intent[intent].values())
        rng.shuffle(groups)
        for i, group in enumerate(groups):
            out[i % k].extend(group)
    return out


def write_nlu(path: Path, examples: List[Tuple[str, str]]) -> None:
    import yaml

    grouped: Dict[str, List[str]] = defaultdict(list)
    for text, intent in examples:
        grouped[intent].append(text)
    nlu = [{"intent": i, "examples": "".join(f"- {t}\n" for t in texts)} for i, texts in grouped.items()]

    class Literal(str):
        pass

    yaml.add_representer(Literal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|"))
    for item in nlu:
        item["examples"] = Literal(item["examples"])
    path.write_text(yaml.dump({"version": "3.1", "nlu": nlu}, sort_keys=False, allow_unicode=True), encoding="utf-8")


def train_nlu(nlu_file: Path, out_dir: Path) -> Tuple[Path, float]:
    from rasa.model_training import train_nlu

    start = time.perf_counter()
    model = train_nlu(str(ROOT / "config.yml"), str(nlu_file), str(out_dir), domain=str(ROOT / "domain"))
    return Path(model), time.perf_counter() - start


def predict(model: Path, texts: List[str]) -> List[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def run():
        return [await agent.parse_message(t) for t in texts]

    return asyncio.run(run())


def raw_intent(parse: dict) -> str:
    """The classifiers' own top intent (DIET blended with the linear model), looking past the fallback classifier."""
    for ranked in parse.get("intent_ranking", []):
        if ranked["name"] != FALLBACK:
            return ranked["name"]
    return parse["intent"]["name"]


def cross_validate(k: int) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    examples = load_examples()
    parts = folds(examples, k)
    truth: List[str] = []
    raw: List[str] = []
    served: List[str] = []
    ranked: List[List[dict]] = []
    train_seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(k):
            train = [e for j, part in enumerate(parts) if j != i for e in part]
            nlu_file = Path(tmp) / f"fold{i}.yml"
            write_nlu(nlu_file, train)
            model, seconds = train_nlu(nlu_file, Path(tmp) / f"model{i}")
            train_seconds.append(seconds)
            parses = predict(model, [t for t, _ in parts[i]])
            truth += [intent for _, intent in parts[i]]
            raw += [raw_intent(p) for p in parses]
            ranked += [[r for r in p["intent_ranking"] if r["name"] != FALLBACK] for p in parses]
            served += [p["intent"]["name"] for p in parses]
            print(f"  fold {i + 1}/{k}: trained in {seconds:.0f} s, {len(parts[i])} held-out examples", flush=True)
    confused = Counter((t, p) for t, p in zip(truth, raw, strict=True) if t != p)
    fell_back = sum(s == FALLBACK for s in served)
    wrong_answers = sum(s not in (FALLBACK, t) for s, t in zip(served, truth, strict=True))
    return {
        "examples": len(examples),
        "intents": len(set(truth)),
        "accuracy": accuracy_score(truth, raw),
        "macro_f1": f1_score(truth, raw, average="macro"),
        "confused": confused.most_common(3),
        "weakest": weakest(truth, raw, 5),
        "fallback_rate": fell_back / len(truth),
        "wrong_answer_rate": wrong_answers / len(truth),
        "train_seconds": sum(train_seconds) / len(train_seconds),
        "thresholds": threshold_table(truth, ranked),
    }


def weakest(truth: List[str], predicted: List[str], n: int) -> List[Tuple[str, float]]:
    """The n intents with the lowest F1: where a trainer's next examples help most."""
    from sklearn.metrics import f1_score

    labels = sorted(set(truth))
    scores = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    return sorted(zip(labels, (float(f) for f in scores), strict=True), key=lambda pair: pair[1])[:n]


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


def parse_latency(model: Path, n: int = 1000) -> List[float]:
    from rasa.core.agent import Agent

    texts = [t for t, _ in load_examples()]
    rng = random.Random(3)
    sample = [rng.choice(texts) for _ in range(n)]
    agent = Agent.load(str(model))

    async def run():
        for text in sample[:20]:  # warm-up: first calls build TF graphs
            await agent.parse_message(text)
        samples = []
        for text in sample:
            start = time.perf_counter()
            await agent.parse_message(text)
            samples.append(time.perf_counter() - start)
        return samples

    return asyncio.run(run())


BLIND_SET = ROOT / "tests" / "data" / "blind_intents.yml"
HOLDOUT_SET = ROOT / "tests" / "data" / "holdout_intents.yml"  # written after the tuning: nothing was chosen on it


def load_blind(path: Path = BLIND_SET) -> List[Tuple[str, str]]:
    """The blind set's (text, intent) pairs: written from the intents' descriptions, never trained on."""
    import yaml

    return [(e["text"], e["intent"]) for e in yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]]


def blind_set(model: Path, path: Path = BLIND_SET) -> dict:
    """How the trained model does on requests nobody taught it: a rephrase request counts as a miss."""
    examples = load_blind(path)
    parses = predict(model, [t for t, _ in examples])
    truth = [intent for _, intent in examples]
    served = [p["intent"]["name"] for p in parses]
    confident_wrong = sum(p["intent"]["name"] not in (FALLBACK, t) and p["intent"]["confidence"] >= 0.9
                          for p, t in zip(parses, truth, strict=True))
    raw = [raw_intent(p) for p in parses]
    confused = Counter((t, p) for t, p in zip(truth, raw, strict=True) if t != p)
    ranked = [[r for r in p["intent_ranking"] if r["name"] != FALLBACK] for p in parses]
    return {
        "thresholds": threshold_table(truth, ranked),
        "examples": len(examples),
        "accuracy": sum(s == t for s, t in zip(served, truth, strict=True)) / len(truth),
        "top_intent_accuracy": sum(r == t for r, t in zip(raw, truth, strict=True)) / len(truth),
        "rephrase_rate": served.count(FALLBACK) / len(truth),
        "wrong_rate": sum(s not in (FALLBACK, t) for s, t in zip(served, truth, strict=True)) / len(truth),
        "confident_wrong_rate": confident_wrong / len(truth),
        "weakest": weakest(truth, served, 8),
        "confused": confused.most_common(6),
    }


def report_blind(model: Path, path: Path = BLIND_SET, title: str = "blind set") -> None:
    heading(f"NLU: {title} ({path.relative_to(ROOT)}, written without seeing data/nlu)")
    b = blind_set(model, path)
    print(f"  {b['examples']} requests: accuracy {b['accuracy']:.3f} (asked to rephrase counts as a miss; target >= 0.90), "
          f"asked to rephrase {b['rephrase_rate']:.1%}, answered wrongly {b['wrong_rate']:.1%}, "
          f"confidently wrong (>= 0.9) {b['confident_wrong_rate']:.1%} (target < 1%)")
    print(f"  top intent behind the fallback right: {b['top_intent_accuracy']:.3f}")
    print("  fallback threshold -> asked to rephrase / answered wrongly: " + "; ".join(
        f"{t:.1f}: {f:.1%} / {w:.1%}" for t, f, w in b["thresholds"]))
    print("  weakest intents (F1): " + "; ".join(f"{i} {f:.2f}" for i, f in b["weakest"]))
    print("  most confused (true -> top intent, count): " + "; ".join(f"{t} -> {p} ({n})" for (t, p), n in b["confused"]))


def report(k: int, model: Path) -> None:
    heading(f"NLU: stratified {k}-fold cross-validation on data/nlu")
    cv = cross_validate(k)
    print(f"  {cv['examples']} examples, {cv['intents']} intents")
    print(f"  intent accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macro_f1']:.3f}  (target macro-F1 >= 0.93)")
    print("  most confused (true -> predicted, count): " + "; ".join(f"{t} -> {p} ({n})" for (t, p), n in cv["confused"]))
    print("  weakest intents (F1): " + "; ".join(f"{i} {f:.2f}" for i, f in cv["weakest"]))
    print(f"  with the fallback threshold: {cv['fallback_rate']:.1%} asked to rephrase, "
          f"{cv['wrong_answer_rate']:.1%} answered wrongly")
    print("  fallback threshold -> asked to rephrase / answered wrongly: " + "; ".join(
        f"{t:.1f}: {f:.1%} / {w:.1%}" for t, f, w in cv["thresholds"]))
    print(f"  NLU training time per fold: {cv['train_seconds']:.0f} s")
    report_blind(model)
    report_blind(model, HOLDOUT_SET, "hold-out set, written after the tuning")
    heading("NLU parse latency, in process, 1,000 messages")
    print(f"  {summary_ms(parse_latency(model))}  (target p50 < 15 ms)")
