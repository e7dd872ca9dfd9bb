"""caption-cnn-lstm distilled from an ensemble (issue 17: "ensembling"; the three-member
ensemble of benchmarks/caption_ensemble.py gains on valid but weighs 29 MB, over the 25 MB
bundle limit): one model fine-tuned to match the ensemble's next-word distribution.

The student is fine-tuned as the shipped bundle was made from its parent (`zoo
fine-tune`, the card's recipe: 10 epochs, rate 1e-3 decayed 0.85 an epoch, seed 1, on the
emoji train split less report, the epoch chosen on valid), with one change: its training
step adds the cross-entropy from the teachers' mean word probabilities, on the same
(augmented) batch, to the recipe's loss (Hinton et al. 2015, temperature 1):

    python -c "from benchmarks.caption_neighbour_prefix import split_files as f; f('runs/captioning/continue')"
    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_distill \\
        runs/captioning/ls01-bundle runs/captioning/distill \\
        runs/captioning/ft-s1-bundle runs/captioning/e30-bundle runs/captioning/ls01-bundle

(the teachers after the output folder; the bundles from git as in caption_ensemble.py,
ft-s1-bundle from 1466a0a: it was the shipped bundle when these runs were made).
It writes the student's bundle and benchmarks/results/caption_distill.md: greedy and beam-3
BLEU-4 on valid (the selection split, which chose the epoch) and on report (chosen on by
nothing), with the nearest-neighbour baseline.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "caption_distill.md"
WEIGHT = 1.0        # the distillation term's weight beside the recipe's loss


def distilling_step(model, teachers: list, weight: float = WEIGHT):
    """A train_step for `model`: the compiled loss plus `weight` x the cross-entropy from
    the teachers' mean next-word probabilities, over the real (non-pad) words."""
    import tensorflow as tf

    def train_step(data):
        x, y = data[0], data[1]
        target = tf.add_n([tf.nn.softmax(t(x, training=False)["logits"]) for t in teachers])
        target = tf.stop_gradient(target / len(teachers))
        real = tf.cast(tf.cast(y["logits"], tf.int32) > 0, tf.float32)
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            ce = -tf.reduce_sum(target * tf.nn.log_softmax(y_pred["logits"]), -1)
            distill = tf.reduce_sum(ce * real) / tf.maximum(tf.reduce_sum(real), 1.0)
            total = loss + weight * distill
        grads = tape.gradient(total, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return {"loss": total, "distill": distill}

    return train_step


def main(argv=None) -> int:
    import zoo
    import zoo.training as training
    from zoo_pipelines.captioning.evaluate import default_train, nearest_neighbour_captions

    from .caption_ensemble import captions, score, selection_and_report, table
    from .harness import check_models, run_lines, write_markdown

    ap = argparse.ArgumentParser(prog="python -m benchmarks.caption_distill",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("student", help="the bundle to fine-tune (the shipped one's parent)")
    ap.add_argument("out", help="folder for the distilled bundle")
    ap.add_argument("teachers", nargs="+", help="caption-cnn-lstm bundles")
    ap.add_argument("--data", default="runs/captioning/continue",
                    help="folder with train.csv and valid.csv (split_files)")
    ap.add_argument("--seed", type=int, default=1, help="the fine-tune's seed (1, as the "
                    "shipped bundle's); another writes results/caption_distill-s<seed>.md")
    args = ap.parse_args(argv)
    from zoo.data import existing

    check_models([args.student, *args.teachers])
    for split in ("train", "valid"):        # the default is a run's folder, not in a checkout
        existing(f"{args.data}/{split}.csv", "file (--data: a folder with train.csv and valid.csv)")
    load = os.getloadavg()[0]
    teachers = [zoo.load(t).keras_model for t in args.teachers]
    compile_in_scope = training.compile_for_training_in_scope

    def compile_distilling(zm, *a, **k):
        compile_in_scope(zm, *a, **k)
        zm.keras_model.train_step = distilling_step(zm.keras_model, teachers)

    training.compile_for_training_in_scope = compile_distilling
    try:
        student = zoo.load(args.student).fine_tune(
            f"{args.data}/train.csv", validation=f"{args.data}/valid.csv", epochs=10,
            out=args.out, learning_rate=1e-3, lr_decay=0.85, seed=args.seed)
    finally:
        training.compile_for_training_in_scope = compile_in_scope
    command = "python -m benchmarks.caption_distill " + " ".join(
        [args.student, args.out, *args.teachers, *(["--seed", str(args.seed)] if args.seed != 1 else [])])
    # the bundle's recipe names this step (a soup of it lists its members' recipes)
    student.metrics["command"] = "\n".join([student.metrics.get("command", ""), command]).strip()
    student.write_card(args.out)
    history = [round(r.get("val_bleu4", float("nan")), 4) for r in student.history]
    first = zoo.load(args.teachers[0])
    lines = ["# caption-cnn-lstm distilled from an ensemble", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             *run_lines(command, load), "",
             f"- teachers: {', '.join(args.teachers)}; student from {args.student}; "
             f"distillation weight {WEIGHT}; seed {args.seed}", f"- epochs (greedy valid BLEU-4): {history}", ""]
    splits = selection_and_report(first.entry)
    train = default_train(first)
    rows = {}
    for split, examples in splits.items():
        rows["nearest neighbour", split, 0] = score(
            nearest_neighbour_captions(first, examples, train), examples)
        for label, m in (("distilled", student), ("first teacher", first)):
            for beam in (1, 3):
                preds = captions([m], [e["image"] for e in examples], beam)
                rows[label, split, beam] = score(preds, examples)
                print(label, split, beam, rows[label, split, beam], flush=True)
    lines += table(rows, "model")
    write_markdown(RESULTS if args.seed == 1 else RESULTS.with_stem(f"caption_distill-s{args.seed}"),
                   lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
