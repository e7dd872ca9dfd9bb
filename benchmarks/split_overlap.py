"""Do the splits leak? How many valid and report examples also occur in train.

Every shipped card's headline is its report split (zoo.data.SPLITS), carved from train by
a group rule or an official file. A group rule keeps a document, a piece, a ticker
together, but not the same CONTENT under two groups: a headline repeated in two CoNLL
documents, a Debian description shared by two source packages, a wire story in two news
rows. This script counts, per application and dataset, the valid and report examples whose
content occurs in train (and report in valid), exactly and normalised:

- text (NER tokens, summarization document and, separately, summary, caption text,
  charlm passages and lines): exact string; normalised = lower-case, punctuation dropped,
  whitespace folded (`norm`);
- images (caption): sha256 of the decoded pixels; near: a 16x16 grey thumbnail within
  NEAR_IMAGE mean absolute difference (0-255) of a train thumbnail (what the split code
  now leaves out);
- audio (speech, FSDD): sha256 of the file; normalised: of its samples scaled to peak 1;
- piano rolls (music): the roll's bytes; normalised: transposed so its lowest note is 0;
- prices (forecast): each valid or report WINDOW-day close window a forecast is scored
  from (its origin on or after the cutoff) found among the train windows; normalised:
  divided by the window's first close.

The rule applied to the counts (benchmarks/results/split_overlap.md says what crossed it):
a report split with >= 1 % duplicated examples is evaluated by the shipped model with and
without them; a headline that moves by >= 0.005 (or a share >= 5 %) gets de-duplicated
split code.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.split_overlap

writes benchmarks/results/split_overlap.md (about a minute on 2 cores, no model loaded).
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from zoo.data import carve, data_root
from zoo.data import fold as norm      # lower-case, punctuation dropped, spaces folded

RESULTS = Path(__file__).parent / "results" / "split_overlap.md"
WINDOW = 64             # forecast-lstm's input window (its preprocessor.json)
MIN_LINE = 20           # charlm lines shorter than this ("KING RICHARD III:") are not counted

def overlap(held: list, train: list) -> int:
    """How many of `held` (keys) occur in `train` (keys)."""
    seen = set(train)
    return sum(k in seen for k in held)


def text_rows(app: str, splits: dict, key) -> list[dict]:
    """Rows of the table for text examples: `key(example)` is the content compared."""
    keys = {s: [key(e) for e in ex] for s, ex in splits.items()}
    folded = {s: [norm(k) for k in ks] for s, ks in keys.items()}
    rows = []
    for held, against in (("valid", "train"), ("report", "train"), ("report", "valid")):
        if held in keys and against in keys:
            rows.append({"app": app, "held": held, "against": against, "n": len(keys[held]),
                         "exact": overlap(keys[held], keys[against]),
                         "normalised": overlap(folded[held], folded[against])})
    return rows


def ner() -> list[dict]:
    from zoo_pipelines.ner.data import read, read_split, report_group, sentence_text

    root = data_root()
    sentences = read(root / "conll2003" / "train.txt")
    conll = {"train": carve(sentences, report_group, "train"),     # as carved before the
             "valid": read(root / "conll2003" / "valid.txt"),      # de-duplication
             "report": carve(sentences, report_group, "report")}
    now = {s: read_split(root / "conll2003", s) for s in ("train", "valid", "report")}
    wiki = read(root / "wikiann_en" / "train.conll")      # benchmarks/ner_wikiann.splits()
    wikiann = {"train": carve(wiki, report_group, "train"),
               "valid": read(root / "wikiann_en" / "dev.conll"),
               "report": carve(wiki, report_group, "report")}
    return (text_rows("ner conll2003 (sentence)", conll, sentence_text)
            + text_rows("ner conll2003 (sentence), read_split now", now, sentence_text)
            + text_rows("ner wikiann_en (sentence)", wikiann, sentence_text))


def summarization() -> list[dict]:
    from zoo_pipelines.summarization.data import DATASETS, read, read_split

    rows = []
    for name in DATASETS:
        folder = data_root() / "summarization" / name
        pairs = read(next(folder.glob("train.*")))
        raw = {"train": carve(pairs, report_group_s, "train"),     # before the de-duplication
               "valid": read(next(folder.glob("valid.*"))),
               "report": carve(pairs, report_group_s, "report")}
        rows += text_rows(f"summarization {name} (document)", raw, lambda p: p["document"])
        rows += text_rows(f"summarization {name} (summary)", raw, lambda p: p["summary"])
        if name == DATASETS[0]:
            now = {s: read_split(folder, s) for s in ("train", "valid", "report")}
            rows += text_rows(f"summarization {name} (document), read_split now", now,
                              lambda p: p["document"])
    return rows


def report_group_s(pair: dict) -> str:
    from zoo_pipelines.summarization.data import report_group

    return report_group(pair)


def charlm() -> list[dict]:
    from zoo_pipelines.charlm.data import read_split

    splits = {s: read_split(data_root() / "text" / "tinyshakespeare", s)
              for s in ("train", "valid", "report")}
    lines = {s: [{"text": line} for p in ex for line in p["text"].splitlines()
                 if len(line.strip()) >= MIN_LINE] for s, ex in splits.items()}
    return (text_rows("charlm tinyshakespeare (passage)", splits, lambda p: p["text"])
            + text_rows(f"charlm tinyshakespeare (line >= {MIN_LINE} chars)", lines,
                        lambda p: p["text"]))


def _thumb(path: str) -> tuple[str, np.ndarray]:
    from PIL import Image

    with Image.open(path) as im:
        rgba = im.convert("RGBA")
        exact = hashlib.sha256(rgba.tobytes()).hexdigest()
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))   # transparency on white
        grey = Image.alpha_composite(white, rgba).convert("L").resize((16, 16), Image.BILINEAR)
    return exact, np.asarray(grey, np.float32)


def caption() -> list[dict]:
    from zoo_pipelines.captioning.data import NEAR_IMAGE, read_split, report_group
    from zoo_pipelines.captioning.readers import read_captions

    folder = data_root() / "captioning" / "emoji"
    train = read_captions(folder, "train")
    splits = {"train": carve(train, report_group, "train"),        # before the de-duplication
              "valid": read_captions(folder, "valid"),
              "report": carve(train, report_group, "report")}
    rows = text_rows("caption emoji (caption)", splits, lambda e: e["captions"][0])
    now = {s: read_split(folder, s) for s in ("train", "valid", "report")}
    for label, sp in ((f"image; near: 16x16 grey <= {NEAR_IMAGE}", splits),
                      ("image, read_split now", now)):
        thumbs = {s: [_thumb(e["image"]) for e in ex] for s, ex in sp.items()}
        for held, against in (("valid", "train"), ("report", "train"), ("report", "valid")):
            bank = np.stack([t for _, t in thumbs[against]]).reshape(len(thumbs[against]), -1)
            near = sum(float(np.abs(bank - t.reshape(1, -1)).mean(1).min()) <= NEAR_IMAGE
                       for _, t in thumbs[held])
            rows.append({"app": f"caption emoji ({label})", "held": held, "against": against,
                         "n": len(thumbs[held]), "normalised": int(near),
                         "exact": overlap([h for h, _ in thumbs[held]],
                                          [h for h, _ in thumbs[against]])})
    return rows


def speech() -> list[dict]:
    import soundfile as sf

    from zoo_pipelines.speech.data import read_split

    folder = data_root() / "fsdd" / "recordings"
    rows = {}
    for s in ("train", "valid", "report"):
        exact, scaled = [], []
        for e in read_split(folder, s):
            raw = Path(e["audio"]).read_bytes()
            exact.append(hashlib.sha256(raw).hexdigest())
            x, _ = sf.read(e["audio"], dtype="float32")
            x = x / max(float(np.abs(x).max()), 1e-9)
            scaled.append(hashlib.sha256(np.round(x, 3).tobytes()).hexdigest())
        rows[s] = (exact, scaled)
    return [{"app": "speech fsdd (audio file; normalised: samples at peak 1)", "held": h,
             "against": a, "n": len(rows[h][0]), "exact": overlap(rows[h][0], rows[a][0]),
             "normalised": overlap(rows[h][1], rows[a][1])}
            for h, a in (("valid", "train"), ("report", "train"), ("report", "valid"))]


def _transposed(roll: np.ndarray) -> bytes:
    roll = (np.asarray(roll) > 0)
    pitches = np.flatnonzero(roll.any(0))
    if not len(pitches):
        return b""
    return roll[:, pitches[0]:pitches[-1] + 1].tobytes() + str(roll.shape[0]).encode()


def music() -> list[dict]:
    from zoo_pipelines.music.data import read_split

    rows = []
    for name in ("jsb_chorales", "nottingham", "musedata", "piano_midi_de"):
        path = data_root() / "polyphonic" / f"{name}.npz"
        splits = {s: read_split(path, s) for s in ("train", "valid", "report")}
        exact = {s: [hashlib.sha256((np.asarray(p["roll"]) > 0).tobytes()).hexdigest()
                     + str(np.shape(p["roll"])) for p in ex] for s, ex in splits.items()}
        moved = {s: [_transposed(p["roll"]) for p in ex] for s, ex in splits.items()}
        for h, a in (("valid", "train"), ("report", "train"), ("report", "valid")):
            rows.append({"app": f"music {name} (piece; normalised: transposed)", "held": h,
                         "against": a, "n": len(exact[h]), "exact": overlap(exact[h], exact[a]),
                         "normalised": overlap(moved[h], moved[a])})
    return rows


def forecast() -> list[dict]:
    from zoo_pipelines.forecasting.data import read_split

    folder = data_root() / "stocks"
    splits = {s: read_split(folder, s) for s in ("train", "valid", "report")}

    def windows(series, scaled):
        out = []
        for s in series:
            c = np.round(np.asarray(s["close"], np.float64), 4)
            # held-out series: the windows a forecast is scored from (origin >= eval_from);
            # the earlier days are the training tickers' own context, by construction
            for i in range(max(0, s.get("eval_from", WINDOW) - WINDOW), len(c) - WINDOW + 1):
                w = c[i:i + WINDOW]
                out.append((np.round(w / w[0], 6) if scaled else w).tobytes())
        return out

    rows = []
    for h, a in (("valid", "train"), ("report", "train"), ("report", "valid")):
        held = windows(splits[h], False)
        rows.append({"app": f"forecast stocks ({WINDOW}-day close window; normalised: / first)",
                     "held": h, "against": a, "n": len(held),
                     "exact": overlap(held, windows(splits[a], False)),
                     "normalised": overlap(windows(splits[h], True), windows(splits[a], True))})
    return rows


APPS = {"ner": ner, "summarization": summarization, "charlm": charlm, "caption": caption,
        "speech": speech, "music": music, "forecast": forecast}


def table(rows: list[dict]) -> str:
    lines = ["| application, dataset (what is compared) | held split | against | examples "
             "| exact duplicates | normalised duplicates | share (normalised, else exact) |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        count = r["normalised"] if isinstance(r["normalised"], int) else r["exact"]
        share = count / r["n"] if r["n"] else 0.0
        folded = f"{r['normalised']:,}" if isinstance(r["normalised"], int) else r["normalised"]
        lines.append(f"| {r['app']} | {r['held']} | {r['against']} | {r['n']:,} | "
                     f"{r['exact']:,} | {folded} | {share:.1%} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.split_overlap",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("apps", nargs="*", help=f"of {list(APPS)} (default: every one)")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.apps) - set(APPS))
    if unknown:
        ap.error(f"unknown applications {unknown}; expected some of {list(APPS)}")
    rows = []
    for name in args.apps or APPS:
        rows += APPS[name]()
        print(table(rows), flush=True)
    if not args.no_write and not args.apps:
        RESULTS.write_text(f"# Split overlap: valid and report examples that occur in train\n\n"
                           f"{__doc__}\n\n{table(rows)}\n\n{FINDINGS}\n")


# The with/without evaluations (2026-12-07, 2 shared cores, the shipped bundles; scripts
# as in the lead's report): measured once, not re-run by this script (no model is loaded).
FINDINGS = """## What crossed the rule, and what was done

Rows "read_split now" are the splits as the readers return them after the fix. The rule
(>= 1 % of report duplicated: evaluate with and without; a headline move >= 0.005 or a
share >= 5 %: de-duplicate in the split code) was written before any model was evaluated.

| model, report split | examples | duplicated | headline with | without | move | action |
|---|---:|---:|---:|---:|---:|---|
| ner-bilstm, CoNLL-2003 report (F1) | 1,272 | 202 (15.9 %) | 0.9390 | 0.9348 (1,070) | -0.0042 | de-duplicated (share >= 5 %) |
| ner-bilstm, CoNLL-2003 valid (F1; selection) | 3,250 | 198 (6.1 %) | 0.9400 | 0.9390 (3,052) | -0.0010 | kept whole (the selection split; below) |
| summarize-attn, Debian report, every 5th pair, greedy (ROUGE-L) | 1,101 | 58 (5.3 %) | 0.4372 | 0.4295 (1,043) | -0.0077 | de-duplicated (move and share); the 58 duplicated pairs alone score 0.5744 |
| caption-cnn-lstm, emoji report (BLEU-4, greedy), the same image file | 584 | 10 (1.7 %) | 0.5421 | 0.5497 (574) | +0.0076 | de-duplicated (move) |
| caption-cnn-lstm, emoji report (BLEU-4, greedy), same or near image | 584 | 103 (17.6 %) | 0.5421 | 0.5068 (481) | -0.0353 | de-duplicated (move and share); the 103 alone score 0.6545 |

- CoNLL-2003: the duplicated sentences are results lines, datelines and headlines repeated
  across documents (the report group is a document). zoo.data.unseen now leaves out every
  report sentence whose folded text is in the train split.
- Debian: one description under two source packages (the group is the source package);
  report pairs whose folded document is in train are left out (by document:
  a shared generic summary, "transitional package", is a fair thing to have learnt).
  The card already said 180 report documents recur in train; the measured count is 284.
- Emoji: 10 report images (5 valid) are byte for byte training images captioned
  otherwise (a territory's flag drawn as its country's; family emoji drawn alike): no
  model can be right on both. 93 more are near copies of a training image: the person /
  man / woman variants of one emoji ("superhero" ~ "woman superhero", "firefighter" ~
  "man firefighter"), which the base-emoji carve (skin tones folded, gender not) put on
  both sides, and a few faces drawn alike ("grinning face with smiling eyes" ~ "with
  sweat"). The model scores 0.6545 BLEU-4 on those 103 and 0.5068 on the rest: the
  headline was 0.035 too HIGH. Report images within NEAR_IMAGE (16x16 grey
  thumbnails) of a training image are left out (captioning.data.unseen_images). A
  carve that also folds gender (ZWJ 2640/2642, 1f468/1f469 -> 1f9d1) would keep them as
  report examples, but moves training examples: a retrain, for the lead to decide.
- Only report splits are de-duplicated. A valid (selection) split holding training
  content biases what it chooses toward memorising, but chooses only; it stays the file
  as published (CoNLL-2003's eng.testa, the Debian and emoji valid files), so its numbers
  stay comparable and every shipped choice stands. The lead's decision, after the helper's
  first version also de-duplicated valid.
- Under the rule, nothing changed: WikiANN (report 0.3 %), Inshorts and BBC (0-0.5 %),
  tinyshakespeare (3 of 656 passages, 0.5 %), FSDD (no identical recording), the four
  music datasets (no piece repeated, transposed or not, in report), stocks (no report
  window in train; the 362 valid windows found in train are one per training ticker, the
  window that ends the day before the cutoff: the forecast from the last training day,
  by construction). The synthetic training voices of speech-ctc are generated for train
  only and are never in valid or report.
"""


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
