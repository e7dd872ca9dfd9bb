"""Fine-tuning ner-bilstm on a new domain: WikiANN English (PER/LOC/ORG, no MISC).

Each variant is `zoo.load("ner-bilstm").fine_tune(train, validation=dev, epochs=3, **kw)`,
the command a user runs (`zoo fine-tune ner-bilstm --data train.conll --validation
dev.conll --epochs 3`) with one lever changed. Splits:

- train: WikiANN train.conll without the report split (17,974 sentences);
- dev: WikiANN dev.conll, the selection split: it chooses each run's epoch and, across
  variants, the defaults;
- report: one sentence in ten of train.conll (CRC-32 of the sentence, zoo.data.carve;
  2,026 sentences), on which nothing is chosen;
- CoNLL-2003 valid: what the fine-tuned model still knows of the old domain.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.ner_wikiann defaults lr1e-3

writes runs/wikiann/study.json (one record a variant; re-runs skip finished ones) and
benchmarks/results/ner_wikiann.md. About 5 minutes a variant on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from zoo.data import carve, data_root

OUT = Path("runs/wikiann")
# fit's and build's own defaults, for fine-tuning defaults the recipe does not name
FIT_DEFAULTS = {"schedule": "constant", "lr_decay": None, "freeze_words": False}
RESULTS = Path(__file__).parent / "results" / "ner_wikiann.md"

# name -> hyper-parameters over the bundle's recipe (the entry's fine-tuning defaults,
# Entry.fine_tune, are undone for every variant but "defaults": that one is exactly what
# `zoo fine-tune ner-bilstm --data train.conll --validation dev.conll --epochs 3` runs).
VARIANTS = {
    "recipe": {},
    "lr1e-3": {"learning_rate": 1e-3},
    "lr4e-3": {"learning_rate": 4e-3},
    "batch16": {"batch_size": 16},
    "batch8": {"batch_size": 8},
    "dropout0.3": {"dropout": 0.3},
    "decay0.5": {"lr_decay": 0.5},
    "linear": {"schedule": "linear"},
    "linear-lr4e-3": {"schedule": "linear", "learning_rate": 4e-3},
    "freeze-words": {"freeze_words": True},
    "dropout0.3-batch16": {"dropout": 0.3, "batch_size": 16},
    "dropout0.2-batch16": {"dropout": 0.2, "batch_size": 16},
    "rehearse": {"rehearse": True},
    "defaults": None,
}


def write_conll(sentences: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for s in sentences:
            f.write("".join(f"{t}\t{g}\n" for t, g in zip(s["tokens"], s["tags"])) + "\n")
    return path


def splits() -> dict[str, Path]:
    """The train / report files carved from WikiANN train.conll (written once into OUT)."""
    from zoo_pipelines.ner.data import read, report_group

    folder = data_root() / "wikiann_en"
    OUT.mkdir(parents=True, exist_ok=True)
    files = {"train": OUT / "train.conll", "report": OUT / "report.conll"}
    if not all(p.exists() for p in files.values()):
        sentences = read(folder / "train.conll")
        for split, path in files.items():
            write_conll(carve(sentences, report_group, split), path)
    return {**files, "dev": folder / "dev.conll",
            "conll_valid": data_root() / "conll2003" / "valid.txt"}


def run(name: str, files: dict) -> dict:
    import zoo

    start = time.time()
    m = zoo.load("ner-bilstm")
    settings = VARIANTS[name]
    kwargs = {} if settings is None else {**{k: m.hparams.get(k, FIT_DEFAULTS.get(k))
                                             for k in m.entry.fine_tune}, **settings}
    tuned = m.fine_tune(str(files["train"]), validation=str(files["dev"]), epochs=3, **kwargs)
    best = max(tuned.history, key=lambda h: h["val_f1"])
    return {"variant": name, "settings": kwargs if settings is None else settings,
            "hparams": tuned.hparams,
            "dev_f1": best["val_f1"], "epoch": best["epoch"],
            "dev_by_epoch": [round(h["val_f1"], 4) for h in tuned.history],
            "report_f1": tuned.evaluate(str(files["report"]))["f1"],
            "conll_valid_f1": tuned.evaluate(str(files["conll_valid"]))["f1"],
            "seconds": round(time.time() - start)}


def table(records: list[dict]) -> str:
    rows = ["| variant | settings | WikiANN dev F1 (selection) | epoch | by epoch | "
            "WikiANN report F1 | CoNLL valid F1 | seconds |", "|---|---|---:|---:|---|---:|---:|---:|"]
    for r in records:
        rows.append(f"| {r['variant']} | {json.dumps(r['settings'])} | {r['dev_f1']:.4f} | "
                    f"{r['epoch']} | {', '.join(map(str, r['dev_by_epoch']))} | "
                    f"{r['report_f1']:.4f} | {r['conll_valid_f1']:.4f} | {r['seconds']} |")
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--record", action="store_true",
                    help="write the table into the shipped bundle's metrics.json and card")
    args = ap.parse_args(argv)
    files = splits()
    store = OUT / "study.json"
    records = json.loads(store.read_text()) if store.exists() else []
    for name in args.variants:
        if any(r["variant"] == name for r in records):
            continue
        records.append(run(name, files))
        store.write_text(json.dumps(records, indent=1))
        print(table(records), flush=True)
    RESULTS.write_text(f"# ner-bilstm fine-tuned on WikiANN English\n\n{__doc__}\n\n"
                       f"{table(records)}\n")
    if args.record:
        record(records)


def record(records: list[dict]) -> None:
    """The study as the shipped bundle's `studies.wikiann_en` (zoo.card.render_studies)."""
    import zoo

    m = zoo.load("ner-bilstm")
    label = {"recipe": "the bundle's own (dropout 0.5, batch 32, constant 2e-3)",
             "defaults": json.dumps(m.entry.fine_tune)}
    rows = [{"variant": r["variant"], "settings": label.get(r["variant"], json.dumps(r["settings"])),
             "WikiANN dev F1 (selection)": r["dev_f1"], "epoch": r["epoch"],
             "WikiANN report F1": r["report_f1"], "CoNLL valid F1": r["conll_valid_f1"]}
            for r in records]
    m.metrics.setdefault("studies", {})["wikiann_en"] = {
        "title": "Fine-tuning on a new domain: WikiANN English (PER, LOC, ORG)",
        "note": ("`zoo fine-tune ner-bilstm --data train.conll --validation dev.conll "
                 "--epochs 3` with one setting changed a row. WikiANN dev is the selection "
                 "split: it chose each run's epoch and the fine-tuning defaults "
                 f"({json.dumps(m.entry.fine_tune)}; the row `defaults` is what they give). "
                 "The report split (one sentence in ten of WikiANN train, never trained on) "
                 "chose nothing; CoNLL-2003 valid shows what the fine-tuned model still "
                 "knows of the old domain."),
        "command": "python -m benchmarks.ner_wikiann --record",
        "rows": rows}
    m.write_card(m.entry.bundle_path)


if __name__ == "__main__":
    main()
