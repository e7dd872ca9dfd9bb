"""ROUGE-1/2/L F1 (rouge-score, Porter stemming) of the model's summaries against the
references, and of two lead baselines in the same run: the document's first sentence
(`lead_*`) and its first `lead_words` words (`lead{k}_*`).

The model decodes with the host's beam search, many documents at once on the Keras
model (the same search `predict` runs one document at a time); ZooModel.evaluate passes
the recipe's `evaluate` part (beam 1 for the shipped model) unless told otherwise.

>>> scores = rouge(["the cat sat"], ["a cat sat down"])
>>> round(scores["rouge1"], 4)
0.5714
>>> lead_sentence("Fast editor. It has plugins.")
'Fast editor.'
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from zoo.errors import InputError
from zoo.options import accepted, check_int, check_options

HEADLINE = "rougeL"
GREATER_IS_BETTER = True
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def rouge(predictions: list[str], references: list[str]) -> dict:
    """Mean ROUGE-1/2/L F1 (fractions in [0, 1])."""
    return {k: sum(v) / max(len(v), 1) for k, v in rouge_each(predictions, references).items()}


def rouge_each(predictions: list[str], references: list[str],
               keys: tuple = ("rouge1", "rouge2", "rougeL")) -> dict:
    """{key: the F1 of each prediction against its reference} (paired comparisons use
    these; `rouge` their means)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(keys), use_stemmer=True)
    scores = [scorer.score(r, p) for p, r in zip(predictions, references)]
    return {k: [s[k].fmeasure for s in scores] for k in keys}


def check_references(refs: list[str]) -> None:
    """An InputError naming the first reference summary in which ROUGE finds no word
    (rouge-score keeps ASCII letters and digits): "" or "!!!" given in memory scored a
    silent 0.0 for the model and both baselines.

    >>> check_references(["Council approves budget", "..."])
    Traceback (most recent call last):
    zoo.errors.InputError: example 1: the reference summary '...' has no word ROUGE counts (rouge-score keeps the letters a-z and digits); expected a summary in words
    """
    from rouge_score.tokenizers import DefaultTokenizer

    words = DefaultTokenizer(use_stemmer=False).tokenize
    for i, r in enumerate(refs):
        if not words(r):
            raise InputError(f"example {i}: the reference summary {r!r:.60} has no word ROUGE "
                             f"counts (rouge-score keeps the letters a-z and digits); expected "
                             f"a summary in words")


def lead_sentence(document: str) -> str:
    return SENTENCE_END.split(document.strip(), maxsplit=1)[0]


def summarize(zoo_model, documents: list[str], beam: int = 1, batch: int = 32,
              **options) -> list[dict]:
    """predict()-style results for many documents: the host's search over the Keras
    encoder/step functions, `batch` rows (documents x beams or draws) a call."""
    from zoo.monitor import progress

    host = zoo_model.host()
    # evaluate(**options) passes them on: a misspelt one was a raw TypeError from encode
    check_options(host.encode, {"beam": beam, **options}, f"{zoo_model.entry.name} evaluate")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # long documents: truncated, by design
        encoded = host.encode(documents, beam=beam, **options)
    results = host.run(encoded, zoo_model.loop_call(), rows=batch,
                       chunks=lambda r: progress(r, desc="summarizing", unit="batch"))
    return host.decode(encoded, results)


def evaluate(zoo_model, examples: list[dict], beam: int = 4, lead_words: int = 10,
             max_examples: int | None = None, **options) -> dict:
    """ROUGE F1 of the model and of the lead baselines on `examples` ({"document",
    "summary"} pairs); `max_examples` scores only the first ones."""
    # an unknown option named predict's alone ("it takes beam, ..."), not lead_words or
    # max_examples, which this function takes too
    takes = {*(accepted(zoo_model.host().encode, 1) or {}), "batch", "lead_words", "max_examples"}
    unknown = sorted(set(options) - takes)
    if unknown:
        raise InputError(f"{zoo_model.entry.name} evaluate: unknown option {unknown[0]!r}; it "
                         f"takes {', '.join(sorted(takes))}")
    if max_examples is not None:          # -1 dropped the last example, 0 meant all
        examples = examples[:check_int(max_examples, "max_examples", 1)]
    docs = [e["document"] for e in examples]
    refs = [e["summary"] for e in examples]
    check_references(refs)
    preds = [r["summary"] for r in summarize(zoo_model, docs, beam=beam, **options)]
    metrics = rouge(preds, refs)
    for k, v in rouge([lead_sentence(d) for d in docs], refs).items():
        metrics[f"lead_{k}"] = v
    for k, v in rouge([" ".join(d.split()[:lead_words]) for d in docs], refs).items():
        metrics[f"lead{lead_words}_{k}"] = v
    metrics.update(beam=beam, examples=len(examples),
                   mean_summary_words=float(np.mean([len(p.split()) for p in preds])))
    return metrics
