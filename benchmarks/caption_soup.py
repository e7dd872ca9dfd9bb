"""caption-cnn-lstm as a greedy model soup (issue 17: "ensembling" at one model's size):
bundles fine-tuned from one parent, averaged weight by weight (zoo.soup.average_weights;
Wortsman et al. 2022, their greedy recipe).

The ingredients are ranked by their own beam-3 valid BLEU-4 (retrieval off); the soup
starts as the best and takes each next ingredient iff the uniform average with it scores
at least as well on valid. Valid (the selection split) chooses everything; report is
measured once, for the final soup. Each bundle's retrieval memory and out-of-distribution
limits are set aside (they are not weights, and are each bundle's own): the soup gets its
own from the card's shipping procedure, if it is shipped.

    git archive 1466a0a zoo_pipelines/saved_models/caption-cnn-lstm | tar -x -C runs/captioning/ft-s1-bundle --strip-components=3
    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_soup runs/captioning/soup \\
        runs/captioning/ft-s1-bundle runs/captioning/ft-s2 runs/captioning/ft-s3 \\
        runs/captioning/distill-s0 runs/captioning/distill runs/captioning/distill-s2 runs/captioning/distill-s3

(the plain and distilled fine-tunes of benchmarks/caption_distill.py; about a minute a
valid decode on 2 cores) writes the soup's bundle and benchmarks/results/caption_soup.md.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "caption_soup.md"


def main(argv=None) -> int:
    import zoo
    from zoo.data import data_root, read_split
    from zoo.soup import average_weights

    from .caption_ensemble import captions, score
    from .harness import run_lines, write_markdown

    ap = argparse.ArgumentParser(prog="python -m benchmarks.caption_soup",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="folder for the soup's bundle")
    ap.add_argument("bundles", nargs="+", help="caption-cnn-lstm bundles fine-tuned from one parent")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    models = [zoo.load(b) for b in args.bundles]
    for m in models:
        for key in ("retrieval", "ood"):
            m.preprocessor.pop(key, None)
    entry = models[0].entry
    splits = {s: read_split(entry, data_root() / entry.default_data, s) for s in ("valid", "report")}

    def bleu(m, split="valid", beam=3) -> dict:
        examples = splits[split]
        return score(captions([m], [e["image"] for e in examples], beam), examples)

    alone = {b: bleu(m)["bleu4"] for b, m in zip(args.bundles, models)}
    order = sorted(range(len(models)), key=lambda i: -alone[args.bundles[i]])
    soup, chosen = models[order[0]], [order[0]]
    best = alone[args.bundles[order[0]]]
    weights = [m.keras_model.get_weights() for m in models]
    lines = ["# caption-cnn-lstm as a greedy model soup", "", __doc__.split("\n\n")[1], "",
             *run_lines("python -m benchmarks.caption_soup " + " ".join([args.out, *args.bundles]),
                        load), "",
             "| step | ingredient (its own valid beam-3) | soup's valid beam-3 (selection) | taken |",
             "|---:|---|---:|---|",
             f"| 1 | {args.bundles[order[0]]} ({best:.4f}) | {best:.4f} | yes |"]
    for step, i in enumerate(order[1:], 2):
        soup.keras_model.set_weights(average_weights([weights[j] for j in chosen + [i]]))
        valid = bleu(soup)["bleu4"]
        taken = valid >= best
        if taken:
            chosen, best = chosen + [i], valid
        lines.append(f"| {step} | {args.bundles[i]} ({alone[args.bundles[i]]:.4f}) | {valid:.4f} | "
                     f"{'yes' if taken else 'no'} |")
        print(lines[-1], flush=True)
    soup.keras_model.set_weights(average_weights([weights[j] for j in chosen]))
    soup.metrics = {k: v for k, v in soup.metrics.items()
                    if k in ("model", "hparams", "paper", "fine_tuned_on")}
    soup.metrics["soup"] = {"bundles": [args.bundles[j] for j in chosen], "weights": "uniform",
                            "chosen_on": "valid beam-3 BLEU-4, greedy soup"}
    commands = []                        # every ingredient's recipe, each stage once
    for j in chosen:
        commands += [c for c in models[j].metrics.get("command", "").splitlines()
                     if c and c not in commands]
    soup.save(args.out, command="\n".join(
        [*commands, "python -m benchmarks.caption_soup " + " ".join([args.out, *args.bundles])]))
    lines += ["", f"The soup: {len(chosen)} of {len(models)} ({', '.join(args.bundles[j] for j in chosen)}), "
              f"written to {args.out}.", "",
              "| the soup, retrieval off | beam | valid BLEU-4 (selection) | report BLEU-4 | "
              "report Noto | report Twemoji | report exact match |", "|---|---:|---:|---:|---:|---:|---:|"]
    for beam in (1, 3):
        v, r = bleu(soup, "valid", beam), bleu(soup, "report", beam)
        lines.append(f"| soup | {beam} | {v['bleu4']:.4f} | {r['bleu4']:.4f} | {r['google']:.4f} | "
                     f"{r['twitter']:.4f} | {r['exact_match']:.3f} |")
    write_markdown(RESULTS, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
