"""Beam width x length-normalisation grid for `caption-cnn-lstm` on the emoji valid split
(corpus BLEU-1..4, exact match, mean caption length), run over the TFLite export, which
gives the Keras model's captions (parity-checked on export) much faster.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_cnn_lstm_beam [BUNDLE]

Writes benchmarks/results/caption_cnn_lstm_beam.json. Choosing a setting on this split
and quoting its score there is optimistic: the README and docs/models/caption-cnn-lstm.md
quote the defaults.
"""
import argparse
import json
import tempfile
from pathlib import Path

GRID = ((1, 1.0), (3, 0.0), (3, 0.3), (3, 0.6), (3, 1.0), (5, 0.0), (5, 0.6), (5, 1.0))


def main(argv=None):
    # argparse, not argv[0]: --help was loaded as a model name
    ap = argparse.ArgumentParser(prog="python -m benchmarks.caption_cnn_lstm_beam",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle", nargs="?", default="caption-cnn-lstm",
                    help="a caption-cnn-lstm bundle (default: the shipped one)")
    bundle = ap.parse_args(argv).bundle
    from .harness import check_models

    check_models([bundle])              # before TensorFlow loads
    import zoo
    from zoo_pipelines.captioning import data as D
    from zoo_pipelines.captioning import evaluate as E
    from zoo.data import data_root

    m = zoo.load(bundle)
    if m.entry.name != "caption-cnn-lstm":
        raise zoo.errors.InputError(f"{bundle}: a {m.entry.name} bundle; expected caption-cnn-lstm")
    valid = D.read_split(data_root() / "captioning" / "emoji", "valid")
    refs = [e["captions"] for e in valid]
    path = Path(tempfile.mkdtemp()) / "m.tflite"
    parity = m.export(path)["agreement"]
    rt = zoo.runtime.load(path)
    rows = []
    for beam, alpha in GRID:
        preds = [r["caption"] for r in rt.predict([e["image"] for e in valid], beam=beam, alpha=alpha)]
        rows.append({"beam": beam, "alpha": alpha, **E.bleu(preds, refs),
                     "exact_match": E.exact_match(preds, refs),
                     "mean_words": sum(len(p.split()) for p in preds) / len(preds)})
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
    out = Path(__file__).resolve().parent / "results" / "caption_cnn_lstm_beam.json"
    out.write_text(json.dumps({"bundle": bundle, "images": len(valid), "tflite_parity": parity,
                               "grid": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
