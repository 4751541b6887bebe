"""Frustration scoring against the labelled sets in tests/data/: ours next to a VADER baseline, message by
message, then whole dialogues (does the bot escalate, and how soon after the first clear sign)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import yaml

from benchmarks.stats import heading
from bot.frustration.conversation import escalation_turn
from bot.frustration.signals import FRUSTRATED_AT, score_message
from bot.settings import ROOT

DIALOGUES = ROOT / "tests" / "data" / "frustration_dialogues.yml"
BLIND = ROOT / "tests" / "data" / "blind_frustration.yml"
COMPLAINTS = ROOT / "tests" / "data" / "blind_complaints.yml"
VADER_NEGATIVE = -0.05  # VADER's own cut-off for negative sentiment


def labelled() -> List[Tuple[str, bool]]:
    from bot.frustration.training import labelled_messages

    return labelled_messages()


def blind_labelled(path: Path = BLIND) -> List[Tuple[str, bool]]:
    return [(m["text"], bool(m["frustrated"])) for m in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]]


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Probability that a random frustrated message scores above a random neutral one (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=False) if y]
    neg = [s for s, y in zip(scores, labels, strict=False) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def rates(predicted: Sequence[bool], labels: Sequence[bool]) -> Dict[str, float]:
    tp = sum(p and y for p, y in zip(predicted, labels, strict=False))
    fp = sum(p and not y for p, y in zip(predicted, labels, strict=False))
    fn = sum(not p and y for p, y in zip(predicted, labels, strict=False))
    tn = sum(not p and not y for p, y in zip(predicted, labels, strict=False))
    return {"precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn), "fpr": fp / max(1, fp + tn),
            "accuracy": (tp + tn) / len(labels)}


def line(name: str, r: Dict[str, float], auc: float) -> str:
    return (f"  {name:<10} precision {r['precision']:.3f}  recall {r['recall']:.3f}  false-positive rate {r['fpr']:.3f}"
            f"  accuracy {r['accuracy']:.3f}  ROC AUC {auc:.3f}")


def message_report(data: List[Tuple[str, bool]], title: str) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts, labels = [t for t, _ in data], [y for _, y in data]
    heading(f"Frustration per message, {title}: {sum(labels)} frustrated, {len(labels) - sum(labels)} neutral")
    ours = [score_message(t).score for t in texts]
    vader = SentimentIntensityAnalyzer()
    compound = [vader.polarity_scores(t)["compound"] for t in texts]
    print(line("ours", rates([s >= FRUSTRATED_AT for s in ours], labels), roc_auc(ours, labels)))
    print(line("VADER", rates([c <= VADER_NEGATIVE for c in compound], labels), roc_auc([-c for c in compound], labels)))
    print("  targets: recall >= 0.90 with false-positive rate <= 0.05")
    missed = [t for t, s, y in zip(texts, ours, labels, strict=False) if y and s < FRUSTRATED_AT]
    wrong = [t for t, s, y in zip(texts, ours, labels, strict=False) if not y and s >= FRUSTRATED_AT]
    print(f"  missed ({len(missed)}): {missed[:8]}")
    print(f"  false alarms ({len(wrong)}): {wrong[:8]}")
    timing_report(texts, vader)


def timing_report(texts: List[str], vader) -> None:
    """The lexicon alone, and the whole score (lexicon, learned tone, VADER, blend) given the sentence vector the
    NLU pipeline already made."""
    from bot.nlu.encoder import encode

    rounds = 20
    vectors = encode(texts)
    per_message = per_call(lambda: [score_message(t, learned_tone=False) for t in texts], rounds, len(texts))
    per_score = per_call(lambda: [score_message(t, vector=v) for t, v in zip(texts, vectors, strict=True)], rounds,
                         len(texts))
    per_vader = per_call(lambda: [vader.polarity_scores(t) for t in texts], rounds, len(texts))
    print(f"  time per message: lexicon {per_message * 1000:.3f} ms, whole score {per_score * 1000:.3f} ms "
          f"(target < 1 ms; the sentence vector comes from the NLU pipeline), VADER alone {per_vader * 1000:.3f} ms")


def per_call(fn, rounds: int, n: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / (rounds * n)


def dialogue_report() -> None:
    dialogues = yaml.safe_load(DIALOGUES.read_text(encoding="utf-8"))["dialogues"]
    heading(f"Frustration per dialogue: {len(dialogues)} dialogues (tests/data)")
    right, delays, calm_escalated, late = 0, [], [], []
    for d in dialogues:
        turn = escalation_turn(d["turns"])
        should = d["escalate"]
        if should and turn is not None:
            delay = turn - d["first_sign"]
            delays.append(delay)
            ok = 0 <= delay <= 2
            if not ok:
                late.append((d["name"], delay))
        else:
            ok = (turn is None) == (not should)
            if not should and turn is not None:
                calm_escalated.append(d["name"])
            if should and turn is None:
                late.append((d["name"], None))
        right += ok
    print(f"  correct: {right}/{len(dialogues)} ({right / len(dialogues):.3f})")
    print(f"  calm dialogues escalated: {len(calm_escalated)} {calm_escalated}")
    if delays:
        print(f"  turns from the first clear sign to escalation: mean {sum(delays) / len(delays):.2f}, "
              f"max {max(delays)}, distribution { {d: delays.count(d) for d in sorted(set(delays))} }")
    print(f"  escalated too late or never: {late}")


def report() -> None:
    message_report(labelled(), "labelled set (tests/data/frustration_messages.yml; the blend learned from it)")
    message_report(blind_labelled(), "blind set (tests/data/blind_frustration.yml)")
    message_report(blind_labelled(COMPLAINTS), "blind complaints (tests/data/blind_complaints.yml; target AUC >= 0.80)")
    dialogue_report()
