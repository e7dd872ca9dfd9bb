"""The files the general `summarize-attn` is trained and selected on: news (Inshorts and
BBC) beside the Debian package descriptions.

`write_mix(out)` writes, from $ZOO_DATA/summarization, with every report split left out
(each corpus's train file is read through `read_split(..., "train")`, REPORT_RULE):

- `out/train.jsonl.gz`: the Debian train split, then news-train NEWS_REPEATS times (news
  is then a third of the pairs), so that `out` is a dataset folder for `zoo train
  summarize-attn --data out`: the vocabulary is learnt on it, news included. (Measured
  and not used: trained from scratch on it, the model scored lower on Inshorts' selection
  rows than the shipped one; docs/models/summarize-attn.md, "A vocabulary learnt with the
  news".)
- `out/news-train.jsonl.gz`: the Inshorts train split, then the BBC train split twice (BBC
  has half as many pairs). A BBC summary is a set of sentences copied from the article in
  no particular order; here they are put back in the article's order, so the first
  max_target subwords a model is trained on are the earliest summary sentence (usually the
  lead), and going on means copying on down the article. References for scoring are never
  reordered.
- `out/headlines-train.jsonl.gz`: news-train plus one headline pair per BBC training
  article: its opening sentences (at least LEAD_WORDS words, as long as an Inshorts text)
  and its title. Inshorts is document -> headline with only 3.6k pairs; BBC's titles are
  headlines of the same kind, unused by its summaries. (Measured and not used: they cost
  Inshorts 1.3 points on the selection split; docs/models/summarize-attn.md, "BBC titles as
  more headlines".)
- `out/valid.jsonl.gz`: the selection split for all three corpora: every 8th pair of the
  Debian valid file (about 400), and the whole Inshorts (454) and BBC (209) valid files,
  each row tagged with its `corpus`; `out/news-valid.jsonl.gz`: its news rows (the
  validation file of a news-only fine-tune).

A fine-tune on news-train gets Debian as rehearsal (`zoo fine-tune --rehearse
$ZOO_DATA/summarization/debian_descriptions`, which reads its train split, report split
removed).

    python -m zoo_pipelines.summarization.mix runs/summarization/mix

>>> order_summary("B said it. A came first.", "A came first.B said it.")
'B said it. A came first.'
"""
from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

from zoo.data import carve, data_root
from zoo.errors import script

from .data import DATASETS, read, read_split, report_group

# BBC summaries join their sentences with no space ("...49%.Communications Minister ...").
SUMMARY_SENTENCE = re.compile(r"(?<=[.!?\"'])(?=[A-Z\"])|(?<=[.!?])\s+")
DEBIAN_VALID_EVERY = 8
BBC_REPEATS = 2
NEWS_REPEATS = 4     # news-train x 4 beside Debian's 50,530 pairs: a third of the pairs
LEAD_WORDS = 45      # Inshorts texts average about 58 words


def order_summary(document: str, summary: str) -> str:
    """An extractive summary's sentences in the order they appear in the document (a
    sentence not found in it goes last, in its own order)."""
    sentences = [s.strip() for s in SUMMARY_SENTENCE.split(summary) if s.strip()]
    where = [(document.find(s) if s in document else len(document), i, s)
             for i, s in enumerate(sentences)]
    return " ".join(s for _, _, s in sorted(where))


def corpus(name: str, split: str, root: Path | None = None) -> list[dict]:
    return read_split((root or data_root()) / "summarization" / name, split)


def news_train(root: Path | None = None) -> list[dict]:
    inshorts = corpus("inshorts_news", "train", root)
    bbc = [{**p, "summary": order_summary(p["document"], p["summary"])}
           for p in corpus("bbc_news_summary", "train", root)]
    return inshorts + bbc * BBC_REPEATS


def lead(document: str, words: int = LEAD_WORDS) -> str:
    """The document's first sentences, up to the one that reaches `words` words.

    >>> lead("One two three. Four five. Six.", words=4)
    'One two three. Four five.'
    """
    out, count = [], 0
    for sentence in SUMMARY_SENTENCE.split(document.replace("\n", " ")):
        out.append(sentence.strip())
        count += len(sentence.split())
        if count >= words:
            break
    return " ".join(s for s in out if s)


def bbc_headlines(root: Path | None = None) -> list[dict]:
    """(lead, title) pairs of the BBC train split (its report split left out by the same
    carve: the group is the article's id)."""
    path = (root or data_root()) / "summarization" / "bbc_news_summary" / "train.jsonl.gz"
    titled = carve(read(path, summary="title"), report_group, "train")
    return [{**p, "document": lead(p["document"]), "group": p["group"] + "-title"} for p in titled]


def mixed_valid(root: Path | None = None) -> list[dict]:
    debian = corpus(DATASETS[0], "valid", root)[::DEBIAN_VALID_EVERY]
    return [{**p, "corpus": name} for name, pairs in
            ((DATASETS[0], debian), (DATASETS[1], corpus(DATASETS[1], "valid", root)),
             (DATASETS[2], corpus(DATASETS[2], "valid", root))) for p in pairs]


def write_jsonl(pairs: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps({"document": p["document"], "summary": p["summary"],
                                "id": p["group"], **({"corpus": p["corpus"]} if "corpus" in p else {})})
                    + "\n")
    return path


def write_mix(out: str | Path, root: Path | None = None) -> dict:
    out = Path(out)
    train, valid = news_train(root), mixed_valid(root)
    write_jsonl(train, out / "news-train.jsonl.gz")
    debian = corpus(DATASETS[0], "train", root)
    write_jsonl(debian + train * NEWS_REPEATS, out / "train.jsonl.gz")
    headlines = train + bbc_headlines(root)
    write_jsonl(headlines, out / "headlines-train.jsonl.gz")
    write_jsonl(valid, out / "valid.jsonl.gz")
    news = [p for p in valid if p["corpus"] != DATASETS[0]]
    write_jsonl(news, out / "news-valid.jsonl.gz")
    return {"train": len(debian) + len(train) * NEWS_REPEATS, "news-train": len(train),
            "headlines-train": len(headlines), "valid": len(valid),
            "news-valid": len(news)}


def main(argv=None) -> int:
    # argparse, not sys.argv[1]: --help wrote the mix into a folder named "--help"
    import argparse

    from zoo.errors import InputError

    ap = argparse.ArgumentParser(prog="python -m zoo_pipelines.summarization.mix",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default="runs/summarization/mix",
                    help="folder for the .jsonl.gz files (runs/summarization/mix)")
    args = ap.parse_args(argv)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError(f"{args.out}: a file, not a folder; expected OUT to name a folder "
                         f"for the mix's .jsonl.gz files")
    print(write_mix(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(script(main, "zoo_pipelines.summarization.mix"))
