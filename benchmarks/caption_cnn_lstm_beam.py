"""Beam width x length-normalisation grid for `caption-cnn-lstm` on the emoji valid split
(corpus BLEU-1..4, exact match, mean caption length), run over the TFLite export, which
gives the Keras model's captions (parity-checked on export) much faster.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_cnn_lstm_beam [BUNDLE]

Writes benchmarks/results/caption_cnn_lstm_beam.json. Choosing a setting on this split
and quoting its score there is optimistic: the README and docs/models/caption-cnn-lstm.md
quote the defaults.
"""
import json
import sys
import tempfile
from pathlib import Path

GRID = ((1, 1.0), (3, 0.0), (3, 0.3), (3, 0.6), (3, 1.0), (5, 0.0), (5, 0.6), (5, 1.0))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    import zoo
    from zoo_pipelines.captioning import data as D
    from zoo_pipelines.captioning import evaluate as E
    from zoo.data import data_root

    bundle = argv[0] if argv else "caption-cnn-lstm"
    m = zoo.load(bundle)
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
    return rows


if __name__ == "__main__":
    main()
