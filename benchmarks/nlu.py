"""Intent accuracy and macro-F1 by stratified k-fold cross-validation on data/nlu, and parse latency."""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path
from typing import List

from benchmarks.stats import heading, summary_ms
from bot.settings import ROOT
from bot.training.evaluate import (
    BLIND_SET,
    FALLBACK,
    HOLDOUT_SET,
    intent_scores,
    load_blind,
    load_examples,
    predict,
    raw_intent,
    threshold_table,
    weakest,
)
from bot.training.evaluate import cross_validate as cross_validate_data


def cross_validate(k: int) -> dict:
    return cross_validate_data(k, on_fold=lambda i, n, seconds: print(
        f"  fold {i + 1}/{n}: trained in {seconds:.0f} s", flush=True))


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
        "weakest": weakest(intent_scores(truth, served), 8),
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
