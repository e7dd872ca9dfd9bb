"""NER metrics: span-level micro precision / recall / F1 (seqeval, IOB2 strict) and the
same per entity type. Gold tags in IOB1 or BIOES are read as IOB2 first (as the file
readers convert them). Strict IOB2 differs from conlleval in one way: a predicted span that
begins with I- (after O or another type) is not counted (conlleval counts it; on CoNLL-2003
valid the shipped model predicts one: F1 0.94005 strict, 0.93997 as conlleval counts).

>>> from zoo_pipelines.ner.evaluate import span_scores
>>> float(span_scores([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])["f1"])
1.0
"""
from __future__ import annotations

import warnings
from collections import Counter

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from zoo.errors import warn

HEADLINE = "f1"          # the metric early stopping and the model table use
GREATER_IS_BETTER = True


def as_iob2(tags: list[str]) -> list[str]:
    """One sentence's gold tags as IOB2 (data.to_iob2's reading, per sentence): an I- tag
    that starts a span becomes B-, S-/E- (BIOES) become B-/I-. Strict IOB2 dropped such
    spans: IOB1 or BIOES gold given in memory (not read from a file) scored F1 0.0 with no
    note for a model that found every entity.

    >>> as_iob2(["I-PER", "I-PER", "O", "I-LOC", "S-ORG", "E-ORG"])
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'B-ORG', 'I-ORG']
    """
    from .host import output_tag

    out, prev = [], "O"
    for t in map(output_tag, tags):
        if t.startswith("I-") and prev[2:] != t[2:]:
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def span_scores(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Micro and per-type span scores; a ratio whose denominator is 0 (no gold spans: recall;
    no predicted spans: precision; neither: F1) counts as 0, as conlleval counts it, and
    `note` says so (a bare 0.0 read as a model that found nothing right).

    >>> span_scores([["O", "O"]], [["O", "O"]])["note"]
    'no entity spans in the gold tags nor in the predictions: precision, recall and F1 are 0/0, reported as 0'
    """
    gold = [as_iob2(list(s)) for s in gold]
    with warnings.catch_warnings():      # seqeval averages an empty per-type table: numpy warns
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold, pred, mode="strict", scheme=IOB2,
                                       output_dict=True, zero_division=0)
    micro = report["micro avg"]
    per_type = {k: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"],
                    "support": int(v["support"])}
                for k, v in report.items() if not k.endswith(" avg")}
    out = {"precision": micro["precision"], "recall": micro["recall"], "f1": micro["f1-score"],
           "per_type": per_type, "sentences": len(gold), "tokens": sum(len(s) for s in gold)}
    from seqeval.metrics.sequence_labeling import get_entities

    n_gold, n_pred = (sum(len(get_entities(list(s))) for s in t) for t in (gold, pred))
    undefined = ([] if n_pred else ["precision"]) + ([] if n_gold else ["recall"])
    if undefined:
        which = ("no entity spans in the gold tags nor in the predictions" if len(undefined) == 2
                 else "no entity spans in the gold tags" if n_pred else "no predicted entity spans")
        out["note"] = (f"{which}: "
                       + ("precision, recall and F1 are 0/0" if len(undefined) == 2
                          else f"{undefined[0]} is 0/0") + ", reported as 0")
    return out


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


def evaluate(model, sentences: list[dict], batch_size: int = 256,
             lowercased: bool = False) -> dict:
    """Tag the gold tokenization of `sentences` with `model` and score the spans.
    `lowercased=True` also scores them as typed without capitals (data.lower_cased), as
    `f1_lowercased`: the shipped recipe chose its case augmentation on that number, which
    the docs quote and the card records."""
    from .data import lower_cased

    pred = model.predict([s["tokens"] for s in sentences], batch_size=batch_size)
    scores = span_scores([s["tags"] for s in sentences], [p["tags"] for p in pred])
    if lowercased:
        low = model.predict([lower_cased(s)["tokens"] for s in sentences], batch_size=batch_size)
        scores["f1_lowercased"] = span_scores([s["tags"] for s in sentences],
                                              [p["tags"] for p in low])["f1"]
    # a gold type the model cannot tag (PRODUCT for a CoNLL model): every such span is missed
    known = {t.split("-", 1)[-1] for t in model.host().labels if t != "O"}
    unknown = sorted(set(scores["per_type"]) - known)
    if unknown:
        scores["unknown_types"] = unknown
        missed = sum(scores["per_type"][t]["support"] for t in unknown)
        warn(f"the gold tags hold entity types {', '.join(unknown)} that {model.entry.name} "
             f"does not know (it knows {', '.join(sorted(known))}); their {missed} span(s) "
             f"count as missed")
    if "note" in scores:        # a result the user would misread: a 0 that is 0/0
        warn(scores["note"])
    return scores
