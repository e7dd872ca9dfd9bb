"""NER metrics: span-level micro precision / recall / F1 (seqeval, IOB2 strict — the same
counting as conlleval) and the same per entity type.

>>> from zoo_pipelines.ner.evaluate import span_scores
>>> float(span_scores([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])["f1"])
1.0
"""
from __future__ import annotations

from collections import Counter

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

HEADLINE = "f1"          # the metric early stopping and the model table use
GREATER_IS_BETTER = True


def span_scores(gold: list[list[str]], pred: list[list[str]]) -> dict:
    report = classification_report(gold, pred, mode="strict", scheme=IOB2,
                                   output_dict=True, zero_division=0)
    micro = report["micro avg"]
    per_type = {k: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"],
                    "support": int(v["support"])}
                for k, v in report.items() if not k.endswith(" avg")}
    return {"precision": micro["precision"], "recall": micro["recall"], "f1": micro["f1-score"],
            "per_type": per_type, "sentences": len(gold),
            "tokens": sum(len(s) for s in gold)}


def error_kinds(gold: list[list[str]], pred: list[list[str]]) -> Counter:
    """Where span F1 is lost: each gold span is "correct", a "type X->Y" error (same span,
    other type), a "boundary" error (overlapping a predicted span, not equal) or "missed";
    each predicted span overlapping no gold span is "spurious". Totals "type" and
    "boundary" beside the details.

    >>> error_kinds([["B-ORG", "I-ORG", "O", "B-PER"]], [["B-LOC", "I-LOC", "O", "O"]])
    Counter({'type': 1, 'type ORG->LOC': 1, 'missed': 1})
    """
    from seqeval.metrics.sequence_labeling import get_entities

    kinds = Counter()
    for g, p in zip(gold, pred):
        want = {(b, e): t for t, b, e in get_entities(g)}
        got = {(b, e): t for t, b, e in get_entities(p)}

        def overlaps(span, others):
            return any(b <= span[1] and span[0] <= e for b, e in others)

        for span, t in want.items():
            if got.get(span) == t:
                kinds["correct"] += 1
            elif span in got:
                kinds.update(["type", f"type {t}->{got[span]}"])
            else:
                kinds["boundary" if overlaps(span, got) else "missed"] += 1
        kinds["spurious"] += sum(not overlaps(s, want) for s in got if s not in want)
    return +kinds


def evaluate(model, sentences: list[dict], batch_size: int = 256) -> dict:
    """Tag the gold tokenization of `sentences` with `model` and score the spans."""
    pred = model.predict([s["tokens"] for s in sentences], batch_size=batch_size)
    return span_scores([s["tags"] for s in sentences], [p["tags"] for p in pred])
