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

(the plain and distilled fine-tunes of benchmarks/caption_distill.py; 2 minutes on 2 cores)
writes the soup's bundle and benchmarks/results/caption_soup.md.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "caption_soup.md"


def main(argv=None) -> int:
    import zoo
    from zoo.soup import average_weights, check_members, write_soup

    from .caption_ensemble import captions, score, selection_and_report, table
    from .harness import check_models, run_lines, write_markdown

    ap = argparse.ArgumentParser(prog="python -m benchmarks.caption_soup",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="folder for the soup's bundle")
    ap.add_argument("bundles", nargs="+", help="caption-cnn-lstm bundles fine-tuned from one parent")
    args = ap.parse_args(argv)
    check_models(args.bundles)
    load = os.getloadavg()[0]
    command = "python -m benchmarks.caption_soup " + " ".join([args.out, *args.bundles])

    def member(bundle):
        m = zoo.load(bundle)
        for key in ("retrieval", "ood"):
            m.preprocessor.pop(key, None)
        return m

    models = [member(b) for b in args.bundles]
    check_members(models, args.bundles)
    splits = selection_and_report(models[0].entry)

    def bleu(m, split="valid", beam=3) -> dict:
        examples = splits[split]
        return score(captions([m], [e["image"] for e in examples], beam), examples)

    alone = [bleu(m)["bleu4"] for m in models]
    order = sorted(range(len(models)), key=lambda i: -alone[i])
    chosen, best = [order[0]], alone[order[0]]
    trial = member(args.bundles[order[0]])          # holds each candidate average
    lines = ["# caption-cnn-lstm as a greedy model soup", "", __doc__.split("\n\n")[1], "",
             *run_lines(command, load), "",
             "| step | ingredient (its own valid beam-3) | soup's valid beam-3 (selection) | taken |",
             "|---:|---|---:|---|",
             f"| 1 | {args.bundles[order[0]]} ({best:.4f}) | {best:.4f} | yes |"]
    for step, i in enumerate(order[1:], 2):
        trial.keras_model.set_weights(average_weights(
            [models[j].keras_model.get_weights() for j in chosen + [i]]))
        valid = bleu(trial)["bleu4"]
        if valid >= best:
            chosen, best = chosen + [i], valid
        lines.append(f"| {step} | {args.bundles[i]} ({alone[i]:.4f}) | {valid:.4f} | "
                     f"{'yes' if chosen[-1] == i else 'no'} |")
        print(lines[-1], flush=True)
    soup = write_soup([models[j] for j in chosen], [args.bundles[j] for j in chosen], args.out,
                      command, chosen_on="valid beam-3 BLEU-4, greedy soup")
    lines += ["", f"The soup: {len(chosen)} of {len(models)} "
              f"({', '.join(args.bundles[j] for j in chosen)}), written to {args.out}.", "",
              *table({("soup", split, beam): bleu(soup, split, beam)
                      for beam in (1, 3) for split in ("valid", "report")}, "the soup, retrieval off")]
    write_markdown(RESULTS, lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
