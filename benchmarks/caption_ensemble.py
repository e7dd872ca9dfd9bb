"""caption-cnn-lstm ensembles, measured (issue 17: "ensembling"): do two or three
independently trained bundles, decoding together, name unseen emoji better than one?

Each member encodes the image with its own encoder; at every decoder step the next word's
distribution is the mean of the members' probabilities (its log is what the beam search
ranks), and each member carries its own state and attends with its own weights. This is
done with no new layer: a `call(name, inputs)` over the members' `loop_call`s whose
"encoder" concatenates their outputs and whose "step" splits them again, so the
application's own host (beam search, <end> handling, forbidden words) decodes unchanged.
The retrieval rerank is off (`retrieve=0`: its memory holds one member's features), so
every row is the model part of `predict()`: greedy, and beam 3 with the default alpha.

Splits as everywhere for this model: valid (580 images of unseen emoji) is the selection
split and chooses the members; report (584 images of 163 emoji never trained on nor chosen
with) is measured for every row, with the nearest-neighbour baseline of the first member's
encoder (the card's NN column).

    git archive 46c0e05 zoo_pipelines/saved_models/caption-cnn-lstm | tar -x -C runs/captioning/e30-bundle --strip-components=3
    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_ensemble \\
        zoo_pipelines/saved_models/caption-cnn-lstm runs/captioning/e30-bundle [runs/captioning/ls01-bundle ...]

scores the first bundle alone and with every subset of the others, and writes
benchmarks/results/caption_ensemble.md or `--out FILE` (about 2 minutes a member a subset on
2 cores).
"""
from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "caption_ensemble.md"
BEAMS = (1, 3)


def ensemble_call(models: list):
    """`call(name, inputs)` (batches of rows) of several caption bundles decoding together:
    "encoder" outputs are the members' concatenated on their last axis; "step" splits its
    inputs at the same widths, runs each member, and returns log(mean of the members' word
    probabilities), the first member's attention and the concatenated states."""
    from scipy.special import logsumexp

    from zoo.beam import takes_batches

    calls = [m.loop_call() for m in models]
    widths: list[dict] = []

    def call(name: str, inputs: dict) -> dict:
        if name == "encoder":
            outs = [c("encoder", inputs) for c in calls]
            widths[:] = [{k: v.shape[-1] for k, v in o.items()} for o in outs]
            return {k: np.concatenate([o[k] for o in outs], axis=-1) for k in outs[0]}
        outs, start = [], {k: 0 for k in widths[0]}
        for c, w in zip(calls, widths):
            part = {"word": inputs["word"]}
            for k, n in w.items():
                part[k] = inputs[k][..., start[k]:start[k] + n]
                start[k] += n
            outs.append(c("step", part))
        stacked = np.stack([np.asarray(o["log_probs"], np.float64) for o in outs])
        out = {"log_probs": (logsumexp(stacked, axis=0) - np.log(len(outs))).astype(np.float32),
               "attention": outs[0]["attention"]}
        out.update({k: np.concatenate([o[k] for o in outs], axis=-1) for k in widths[0]
                    if k not in ("features", "keys")})
        return out

    return takes_batches(call)


def captions(models: list, images: list, beam: int) -> list[str]:
    host = models[0].host()
    encoded = host.encode(images, beam=beam, retrieve=0)
    call = ensemble_call(models) if len(models) > 1 else models[0].loop_call()
    outputs = host.run(encoded, call)
    for o in outputs:       # the mean feature is one member's (the out-of-distribution check)
        o["pooled"] = o["pooled"][:models[0].keras_model.get_layer("encoder").output_shape[-1]]
    return [r["caption"] for r in host.decode(encoded, outputs)]


def score(preds: list[str], examples: list[dict]) -> dict:
    from zoo_pipelines.captioning.evaluate import bleu, exact_match, folder_groups

    refs = [e["captions"] for e in examples]
    row = {"bleu4": bleu(preds, refs)["bleu4"], "exact_match": exact_match(preds, refs)}
    for style, idx in folder_groups(examples).items():
        row[style] = bleu([preds[i] for i in idx], [refs[i] for i in idx])["bleu4"]
    return row


def selection_and_report(entry) -> dict:
    """{"valid": examples, "report": examples} of the entry's default dataset."""
    from zoo.data import data_root, read_split

    return {s: read_split(entry, data_root() / entry.default_data, s) for s in ("valid", "report")}


def table(rows: dict, first: str) -> list[str]:
    """The markdown table of `rows` {(label, split, beam): score()} (beam 0: no beam, the
    nearest neighbour): valid beside report, per art style, one line per label and beam."""
    lines = [f"| {first} | beam | valid BLEU-4 (selection) | report BLEU-4 | report Noto | "
             "report Twemoji | report exact match |", "|---|---:|---:|---:|---:|---:|---:|"]
    for (label, split, beam), row in rows.items():
        if split == "valid":
            rep = rows[label, "report", beam]
            lines.append(f"| {label} | {beam or '—'} | {row['bleu4']:.4f} | {rep['bleu4']:.4f} | "
                         f"{rep.get('google', float('nan')):.4f} | "
                         f"{rep.get('twitter', float('nan')):.4f} | {rep['exact_match']:.3f} |")
    return lines


def main(argv=None) -> int:
    import zoo
    from zoo_pipelines.captioning.evaluate import default_train, nearest_neighbour_captions

    from .harness import check_models, run_lines, write_markdown

    ap = argparse.ArgumentParser(prog="python -m benchmarks.caption_ensemble",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("bundles", nargs="+", help="caption-cnn-lstm bundle folders; the first "
                    "is in every ensemble")
    ap.add_argument("--out", type=Path, default=RESULTS,
                    help="the results file (default benchmarks/results/caption_ensemble.md)")
    args = ap.parse_args(argv)
    check_models(args.bundles)
    load = os.getloadavg()[0]
    models = {b: zoo.load(b) for b in args.bundles}
    vocab = models[args.bundles[0]].preprocessor["vocab"]
    for b, m in models.items():
        if m.entry.name != "caption-cnn-lstm" or m.preprocessor["vocab"] != vocab:
            raise SystemExit(f"{b}: not a caption-cnn-lstm bundle with the first one's "
                             f"vocabulary; every member must share it")
    first = models[args.bundles[0]]
    splits = selection_and_report(first.entry)
    train = default_train(first)
    rows = {}
    for split, examples in splits.items():
        nn = nearest_neighbour_captions(first, examples, train)
        rows["nearest neighbour (first member's encoder)", split, 0] = score(nn, examples)
    rest = args.bundles[1:]
    subsets = [(args.bundles[0], *c) for n in range(len(rest) + 1)
               for c in itertools.combinations(rest, n)]
    for subset in subsets:
        label = " + ".join(subset)
        for split, examples in splits.items():
            for beam in BEAMS:
                start = time.perf_counter()
                preds = captions([models[b] for b in subset], [e["image"] for e in examples], beam)
                rows[label, split, beam] = score(preds, examples)
                print(f"{label} {split} beam {beam}: {rows[label, split, beam]} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    lines = ["# caption-cnn-lstm ensembles", "", __doc__.split("\n\n")[1], "",
             *run_lines("python -m benchmarks.caption_ensemble " + " ".join(args.bundles)
                        + ("" if args.out == RESULTS else f" --out {args.out}"), load), "",
             *table(rows, "members")]
    write_markdown(args.out, lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
