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
RESULTS = Path(__file__).parent / "results" / "ner_wikiann.md"

# name -> fine_tune keywords over the entry's fine-tuning defaults (Entry.fine_tune);
# "recipe" undoes those defaults (the bundle's own training hyper-parameters).
VARIANTS = {
    "defaults": {},
    "recipe": {"learning_rate": 2e-3, "batch_size": 32, "dropout": 0.5, "patience": 6},
    "lr1e-3": {"learning_rate": 1e-3},
    "lr4e-3": {"learning_rate": 4e-3},
    "batch16": {"batch_size": 16},
    "batch8": {"batch_size": 8},
    "dropout0.3": {"dropout": 0.3},
    "rehearse": {"rehearse": True},
    "linear": {"schedule": "linear"},
    "linear-lr4e-3": {"schedule": "linear", "learning_rate": 4e-3},
    "decay0.5": {"lr_decay": 0.5},
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
    tuned = zoo.load("ner-bilstm").fine_tune(str(files["train"]), validation=str(files["dev"]),
                                             epochs=3, **VARIANTS[name])
    best = max(tuned.history, key=lambda h: h["val_f1"])
    return {"variant": name, "settings": VARIANTS[name], "hparams": tuned.hparams,
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


if __name__ == "__main__":
    main()
