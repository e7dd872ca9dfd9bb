"""A training-step screen: a bundle's `train_on_batch` on its speed benchmark's batches,
with one module attribute as it is ("on") and replaced ("off"), the two taking turns
(benchmarks.harness.interleaved). The attribute is read when the step is traced, so each
contestant is traced and warmed up with its own value. It is how the levers of
docs/speed.md of 2026-12-06 were screened (rules written before each run):

    .venv/bin/python -m benchmarks.toggle_step caption-cnn-lstm zoo.training.FusedAdam keras.optimizers.Adam
    .venv/bin/python -m benchmarks.toggle_step ner-bilstm zoo.layers.recurrent.fusable_bidirectional \\
        "lambda layer: False" --threads 1 --off-first

prints p50 and mean ms a step of each; nothing is written.

>>> resolve("keras.optimizers.Adam").__name__, resolve("lambda layer: False")(None)
('Adam', False)
"""
from __future__ import annotations

import argparse
import importlib


def resolve(text: str):
    """A dotted name (module.attribute) or a lambda; else an InputError naming it (a typo
    was a raw AttributeError or "Empty module name" after the model had loaded)."""
    from zoo.errors import InputError

    try:
        if text.startswith("lambda"):
            return eval(text)                 # noqa: S307 (the command line's own code)
        module, _, name = text.rpartition(".")
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError, SyntaxError) as e:
        raise InputError(f"{text!r}: {e}; expected module.attribute (e.g. "
                         f"zoo.training.FusedAdam) or a lambda") from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.toggle_step", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="registered model or bundle directory")
    ap.add_argument("attribute", help="module.attribute to toggle, e.g. zoo.training.FusedAdam")
    ap.add_argument("off", help="its replacement: a dotted name or a lambda")
    ap.add_argument("--threads", type=int, help="TensorFlow's threads (default: its own)")
    ap.add_argument("--rounds", type=int, default=4, help="turns each (4)")
    ap.add_argument("--off-first", action="store_true", help="the replacement runs first")
    args = ap.parse_args(argv)

    from zoo.options import check_int

    from .harness import (check_models, interleaved, keras_training_copy, one_per_shape,
                          set_tf_threads, shapes)
    from .profile_step import speed_batches
    check_models([args.name])
    check_int(args.rounds, "--rounds", 1)
    if args.threads is not None:
        check_int(args.threads, "--threads", 0)
    values = {"on": resolve(args.attribute), "off": resolve(args.off)}
    module_name, _, attr = args.attribute.rpartition(".")
    module = importlib.import_module(module_name)
    set_tf_threads(args.threads)
    import zoo
    from zoo.training import graph_optimizer

    zm = zoo.load(args.name)
    batches = speed_batches(zm.entry.name)(zm, zm.hparams, 40, False)
    fit = zm.entry.recipe["fit"]
    contestants = {}
    with graph_optimizer(fit.get("grappler", True)):
        for label in ("off", "on") if args.off_first else ("on", "off"):
            setattr(module, attr, values[label])
            copy = keras_training_copy(zm, bool(fit.get("jit_compile", False)))
            for batch in one_per_shape(batches, shapes) * 2:          # traces, warm-up
                copy.train_on_batch(*batch)
            contestants[label] = (lambda b, copy=copy: copy.train_on_batch(*b), batches)
        setattr(module, attr, values["on"])
        times = interleaved(contestants, rounds=args.rounds)
    for label, t in times.items():
        print(f"{args.name} {args.attribute} {label}: p50 {t['p50']:.1f} ms, mean {t['mean']:.1f} "
              f"ms, {t['n']} steps")
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
