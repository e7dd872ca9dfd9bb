"""Training from scratch with an entry's recipe: `zoo.train(name)`.

Reads the entry's train and selection ("valid") splits, fits the preprocessor, builds the
model and fits it (zoo.training: early stopping, checkpoints, resume), over one or more
seeds; then measures the report split once, checks every export, and writes the bundle.

>>> import zoo
>>> m = zoo.train("ner-bilstm", out="runs/ner", epochs=1)     # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import json
import logging
import statistics
from pathlib import Path

import keras

from . import bundle, distribute, registry
from .data import LEFT_OUT, data_root, dataset_name, read_split
from .errors import ExportError, InputError, said_once
from .model import ZooModel
from .options import check_out_folder, user_path
from .training import (build_model, check_checkpoint, check_hparams, check_seed,
                       crash_point, fit, read_state, remove, run_pictures)

log = logging.getLogger("zoo")


@said_once()     # the epochs' and the card's scores of the validation data: one warning
def train(name: str, data: str | Path | None = None, out: str | Path | None = None,
          seeds: list[int] | None = None, command: str | None = None,
          check_exports: bool = True, strategy: str = "auto", **overrides) -> ZooModel:
    """Train `name` from scratch with its recipe (overrides win) and save a bundle to `out`.

    With several `seeds`, each run trains in `out/seed-N`; the card reports their mean and
    spread on the validation split and the best run is shipped. The epoch and the seed
    are chosen on the selection split ("valid"); the card's headline is the report split,
    measured once at the end, on which nothing is chosen (zoo.data.SPLITS).

    `strategy` (zoo.distribute: auto, default, mirrored, multi_worker; auto follows
    TF_CONFIG) is made first, before TensorFlow runs anything; the recipe's batch_size is the
    global batch whatever the worker count. Every worker trains; only the chief measures,
    checks the exports and writes the bundle, whose card records the strategy."""
    if seeds is not None and (not seeds or len(set(seeds)) != len(seeds)):
        # one folder and one row of the card's seed table each: a repeat would train twice
        raise InputError(f"seeds must name each seed once; got {seeds}")
    distribute.use(strategy)
    entry = registry.get(name)
    hp = entry.hparams(**overrides)
    for seed in seeds or [hp.get("seed", 0)]:
        check_seed(seed, "seeds" if seeds else "seed")
    check_hparams(entry, hp)                # a value that cannot work, before the data is read
    data_dir = Path(user_path(data)) if data else data_root() / entry.default_data
    out = check_out_folder(user_path(out) or f"runs/{name}")
    bundle.check_not_shipped(out)
    bundle.check_own_folder(out)
    # one writer at a time (the chief: other workers write private folders): two runs into
    # one --out wrote each other's checkpoints and bundle files
    with (bundle.writing(out, out / "train" / ".lock") if distribute.is_chief()
          else contextlib.nullcontext()):
        train_ex = read_split(entry, data_dir, "train")
        valid_ex = read_split(entry, data_dir, "valid")
        # A dataset file holding every split (a .npz; FSDD's recordings, the prices CSV, the
        # captions TSV: valid_file is train_file) is named with the split it was read for: the
        # card named the whole file as the selection split. The train split never holds the
        # report split (carved out of it), so it is always named as a split.
        valid_name = (dataset_name(data_dir / entry.valid_file) if data_dir.is_dir()
                      else f"{dataset_name(data_dir)} [valid]")
        if data_dir.is_dir() and entry.valid_file == entry.train_file:
            valid_name += " [valid]"
        trained_on = {"data": (dataset_name(data_dir / entry.train_file) if data_dir.is_dir()
                               else dataset_name(data_dir)) + " [train]",
                      "examples": len(train_ex), "selection": False}
        command = command or f"zoo.train({name!r}, data={str(data_dir)!r}, seeds={seeds}, **{overrides})"
        runs = []
        for seed in seeds or [hp.get("seed", 0)]:
            work = out / f"seed-{seed}" if seeds and len(seeds) > 1 else out
            zm = train_on(entry, hp | {"seed": seed}, train_ex, valid_ex, work / "train")
            if not distribute.is_chief():       # trained its part; the chief does the rest
                runs.append(({}, zm, work))
                continue
            metrics = {**zm.evaluate(valid_ex), "data": valid_name}
            runs.append((metrics, zm, work))
            log.info("seed %s: %s", seed, numbers(metrics))
        if not distribute.is_chief():
            print(f"{' '.join(map(str, distribute.task()))}: training done; the chief writes "
                  f"the bundle")
            return runs[-1][1]
        evaluator = entry.module("evaluate")
        headline, sign = evaluator.HEADLINE, 1 if evaluator.GREATER_IS_BETTER else -1
        metrics, best, best_work = max(runs, key=lambda r: sign * r[0][headline])
        scores = [r[0][headline] for r in runs]
        chose = "the epoch" + (f" and the seed (best of {len(runs)})" if len(runs) > 1 else "")
        # The default data by its name under $ZOO_DATA; a folder of one's own by its path.
        split = (valid_name if not data_dir.is_dir() else f"{data}/{entry.valid_file}" if data
                 else f"{entry.default_data}/{entry.valid_file}")
        best.metrics = {"model": entry.name, "split": split,
                        "valid": metrics, "paper": entry.paper, "hparams": hp,
                        "distribution": distribute.describe(
                            entry.parts(hp)["fit"].get("batch_size", 32)),
                        "seeds": {"values": scores, "mean": statistics.fmean(scores),
                                  "stdev": statistics.stdev(scores) if len(scores) > 1 else 0.0,
                                  "seeds": list(seeds or [hp.get("seed", 0)])},
                        **report_split(best, data_dir, valid_name, chose)}
        best.metrics["splits"] = {"train": trained_on, **best.metrics["splits"]}
        if check_exports:
            try:
                export_parity(best, out / "export-check")
            except ExportError as e:    # the run is done: say how to get its bundle all the same
                raise ExportError(f"{e}; no bundle was written. The trained weights are kept in "
                                  f"{out / 'train'}: the same command with --check-exports false "
                                  f"(check_exports=False) writes it without the export checks "
                                  f"(a barely trained model's near ties often flip when "
                                  f"quantized; more epochs may pass)") from None
        best.save(out, command=command, pictures=run_pictures(best_work / "train"))
        bundle.check(out)                       # written and verified: checkpoints can go
        for _, _, work in runs:
            remove(work / "train" / "backup")
        report = best.metrics.get("report")
        print(f"{entry.name}: {headline} {metrics[headline]:.4f} on the selection split {valid_name} "
              f"(it chose {chose}); " + (f"{report[headline]:.4f} on the report split "
                                         f"{report['data']} (nothing chosen on it)" if report else
                                         "no report split (see metrics.json splits)"), flush=True)
        return best


def numbers(metrics: dict) -> str:
    """A metrics dict's numbers as `name 0.1234, ...` (its repr showed np.float64(...))."""
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))


def measure_as_trained(bundle_dir, data_dir, chose: str = "the epoch") -> ZooModel:
    """Measure a bundle (a fine-tune of a shipped model on its own dataset's splits, say)
    the way `train` measures the bundles it writes: the dataset folder's valid split
    (selection; `chose` says what it chose) and report split (nothing chosen) into
    metrics.json, and every export's parity check (an ExportError if one fails).

        python -c "from zoo.recipes import measure_as_trained as m; m('runs/captioning/ft-s2', '../shared/data/captioning/emoji', 'the epoch, the seed (of four)')"
    """
    zm = ZooModel.load(str(bundle_dir))
    data_dir = Path(data_dir)
    name = dataset_name(data_dir)
    zm.metrics["split"] = name
    zm.metrics["valid"] = {**zm.evaluate(read_split(zm.entry, data_dir, "valid")), "data": name}
    zm.metrics.update(report_split(zm, data_dir, name, chose))
    export_parity(zm, Path(bundle_dir) / "export-check")
    zm.write_card(bundle_dir)
    return zm


def report_split(zm: ZooModel, data_dir: Path, valid_name: str, chose: str) -> dict:
    """metrics.json's "splits" (what each split is and whether anything was chosen on it)
    and "report": the evaluator on the report split, measured once, after every choice."""
    splits = {"valid": {"data": valid_name, "selection": True, "chose": chose},
              "report": {"data": f"{dataset_name(data_dir)} [report]", "selection": False,
                         "rule": zm.entry.module("data").REPORT_RULE}}
    LEFT_OUT.clear()
    examples = read_split(zm.entry, data_dir, "report")
    if sum(LEFT_OUT.values()):       # its content also in train (zoo.data.unseen)
        splits["report"]["left_out"] = sum(LEFT_OUT.values())
    if not examples:
        splits["report"]["note"] = ("empty: none of the data's groups falls in the report "
                                    "split (too few groups, or files written with their "
                                    "report split already left out)")
        return {"splits": splits}
    print(f"measuring the report split ({len(examples)} examples; nothing is chosen on it)")
    return {"splits": splits,
            "report": {**zm.evaluate(examples), "data": splits["report"]["data"]}}


def export_parity(zm: ZooModel, work: Path) -> dict:
    """Export to every deployment format in `work` (emptied first: a killed run's leftovers
    go) and keep the parity reports for the card."""
    remove(work)
    work.mkdir(parents=True)
    try:
        for target, quantize in (("model.tflite", None), ("model-dynamic.tflite", "dynamic"),
                                 ("model-float16.tflite", "float16"), ("model.onnx", None),
                                 ("saved_model", None)):
            zm.export(work / target, quantize=quantize)
            crash_point("exports")
    finally:
        remove(work)
    return zm.metrics["parity"]


def train_on(entry, hp: dict, train_ex, valid_ex, work: Path) -> ZooModel:
    """Train one model of `entry` from scratch on already-read examples: fit the
    preprocessor on `train_ex`, build with `hp` (seeded), fit with early stopping on
    `valid_ex`; `work` holds the checkpoints (a re-run resumes). The harness in
    zoo.testing trains tiny models with it."""
    work.mkdir(parents=True, exist_ok=True)
    check_checkpoint(work)          # one cut short by a kill goes before it decides below
    data, parts = entry.module("data"), entry.parts(hp)
    prep_path = work / "preprocessor.json"
    if prep_path.exists() and ((work / "backup").exists() or read_state(work).get("finished")):
        # A resumed run keeps its original vocabularies (re-learning them can take minutes)
        # and takes its weights from the backup, so no initialisation is needed.
        prep, init = json.loads(prep_path.read_text(encoding="utf-8")), None
    else:
        prep, init = data.fit_preprocessor(train_ex, **parts["data"])
        # Other workers fit the same vocabularies (deterministic) and keep them to themselves.
        (distribute.worker_dir(work) / prep_path.name).write_text(json.dumps(prep))
    prep["examples"] = data.parity_examples(valid_ex)     # raw inputs, JSON, for export checks
    keras.utils.set_random_seed(hp.get("seed", 0))      # the same initial weights every run
    with distribute.current().scope():              # variables of the strategy in use
        model = build_model(entry, prep, init, **parts["model"])
    zm = ZooModel(entry, model, prep, hparams=hp)
    fit(zm, train_ex, valid_ex, work, **parts["fit"])
    if distribute.distributed():      # ordinary variables from here on (zoo.distribute)
        zm = ZooModel(entry, distribute.plain_copy(zm.keras_model), prep, hparams=hp)
    return zm
