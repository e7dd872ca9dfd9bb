"""Captioning metrics: corpus BLEU-1..4 against all reference captions of each image
(NLTK 3.10.4 `corpus_bleu`, lower-cased tokens from host.tokenize, punctuation as tokens,
smoothing `SmoothingFunction().method1`: epsilon 0.1 added only to an n-gram order with no
match in the whole corpus), the exact-match rate (caption equal to one of the references),
and the same BLEU for a nearest-neighbour baseline computed in the same run: each image
gets the first caption of the training image whose mean encoder feature is closest by
cosine similarity (Devlin et al. 2015 style retrieval, with our own encoder).

NLTK's corpus BLEU counts a caption too short to have any n-gram of order n as 0 matches
out of 1 for that order (its modified precision divides by max(1, count)), so short
captions lower BLEU-3/4 even when exact (a perfect corpus of 3- and 6-word captions scores
BLEU-4 0.93). Emoji names are short (1-11 words), so compare BLEU here only with BLEU
computed the same way, such as the nearest-neighbour baseline's beside it.

With images in more than one folder (the emoji corpus' art styles, images/google and
images/twitter), `by_folder` repeats BLEU-4 and exact match per folder.

Emoji keywords are not used as references (single words: they would inflate BLEU-1).

>>> refs = [["a red apple", "an apple"], ["flag: germany"]]
>>> round(bleu(["a red apple", "flag: germany"], refs)["bleu2"], 4)
1.0
>>> exact_match(["an apple", "flag: france"], refs)
0.5
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.errors import InputError
from zoo.options import check_int

from .host import ALPHA, tokenize

HEADLINE = "bleu4"
GREATER_IS_BETTER = True
# HEADLINE is greedy (the epoch's check); predict() runs beam 3 + the retrieval rerank
PREDICT_METRIC = "retrieval_bleu4"
# `zoo train` checks every epoch with greedy captions and no baseline (beam search and the
# nearest-neighbour features over the whole training set are too slow to run per epoch);
# the final metrics use evaluate()'s defaults.
# A model trained on some art styles only (prep "styles") chooses its epoch on those.
EPOCH_OPTIONS = {"beam": 1, "compare_beam": None, "train": [], "own_styles": True,
                 "compare_retrieval": False}
BLEU_IMPLEMENTATION = "nltk 3.10.4 corpus_bleu, SmoothingFunction().method1, host.tokenize"


def bleu(hypotheses: list[str], references: list[list[str]]) -> dict:
    """{"bleu1".."bleu4"}: cumulative corpus BLEU-n (uniform weights over orders 1..n)."""
    hyps = [tokenize(h) for h in hypotheses]
    refs = [[tokenize(r) for r in rs] for rs in references]
    return {f"bleu{n}": corpus_bleu_n(hyps, refs, n) for n in range(1, 5)}


def corpus_bleu_n(hyps: list[list[str]], refs: list[list[list[str]]], n: int) -> float:
    """Cumulative corpus BLEU-n of tokenized captions (tokenize once, score many subsets:
    benchmarks.caption_interval)."""
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    return float(corpus_bleu(refs, hyps, weights=tuple([1.0 / n] * n),
                             smoothing_function=SmoothingFunction().method1))


def exact_match(hypotheses: list[str], references: list[list[str]]) -> float:
    hits = [tokenize(h) in [tokenize(r) for r in rs] for h, rs in zip(hypotheses, references)]
    return float(np.mean(hits)) if hits else 0.0


def _features(zoo_model, images: list[str], batch_size: int = 256) -> np.ndarray:
    """L2-normalised mean encoder features of image files."""
    from .host import load_image
    from .model import feature_model

    size = int(zoo_model.preprocessor["image_size"])
    fm = feature_model(zoo_model.keras_model)
    out = []
    for s in range(0, len(images), batch_size):
        batch = np.stack([load_image(p, size, "image") for p in images[s:s + batch_size]])
        out.append(np.asarray(fm(batch, training=False)))
    f = np.concatenate(out) if out else np.zeros((0, 1), np.float32)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-9)


def nearest_neighbour_captions(zoo_model, examples: list[dict], train: list[dict]) -> list[str]:
    """The first caption of the most similar training image (cosine of encoder features)."""
    a = _features(zoo_model, [e["image"] for e in examples])
    b = _features(zoo_model, [e["image"] for e in train])
    return [train[int(i)]["captions"][0] for i in np.argmax(a @ b.T, axis=1)]


def default_train(zoo_model) -> list[dict] | None:
    """The entry's training split under $ZOO_DATA (for the baseline), in the art styles the
    model was trained on (prep "styles"), or None if absent."""
    from zoo.data import data_root, read_split

    from .data import in_styles

    try:
        train = read_split(zoo_model.entry, data_root() / zoo_model.entry.default_data, "train")
        return in_styles(train, zoo_model.preprocessor.get("styles"))
    except Exception:           # no default data here: the baseline is skipped, not faked
        return None


def evaluate(zoo_model, examples: list[dict], beam: int = 1, compare_beam: int | None = 3,
             train: list[dict] | None = None, max_examples: int | None = None,
             own_styles: bool = False, compare_retrieval: bool = True) -> dict:
    """Metrics of the model's captions on `examples` (greedy by default: no decoding setting
    tuned on the split it is measured on), the same for beam search of width `compare_beam`
    with predict()'s length normalisation (host.ALPHA, chosen on the emoji valid split) as
    `beam{k}_*` (None: skip), and the nearest-neighbour baseline over `train` (default:
    the entry's training split; [] skips it). `own_styles`: only the images in the art
    styles the model was trained on (prep "styles"; all if it has none).
    `compare_retrieval`: with a retrieval memory in the bundle, also predict()'s default
    decoding (beam + retrieval rerank, retrieval_metrics) as `retrieval_*`."""
    from zoo.monitor import predict_with_progress

    from .data import in_styles

    if own_styles:
        examples = in_styles(examples, zoo_model.preprocessor.get("styles"))
    if max_examples is not None:          # -1 dropped the last example, 0 meant all
        examples = examples[:check_int(max_examples, "max_examples", 1)]
    if not examples:
        raise InputError("no examples to caption (own_styles=True keeps only the art styles "
                         f"{zoo_model.preprocessor.get('styles')} the model was trained on); "
                         f"expected images in those styles, or own_styles=False")
    for i, e in enumerate(examples):      # a str was scored letter by letter, [] crashed BLEU
        caps = e["captions"]
        if not (isinstance(caps, (list, tuple)) and caps
                and all(isinstance(c, str) and c.strip() for c in caps)):
            raise InputError(f"example {i}: 'captions' must be a non-empty list of reference "
                             f"captions (str); got {caps!r:.60}")
    refs = [e["captions"] for e in examples]
    images = [e["image"] for e in examples]
    # the model's own captions: retrieval off (retrieval_metrics measures it)
    preds = [r["caption"] for r in predict_with_progress(zoo_model, images, "captioning",
                                                         beam=beam, retrieve=0)]
    out = {**bleu(preds, refs), "exact_match": exact_match(preds, refs), "images": len(examples),
           "beam": beam, "bleu_implementation": BLEU_IMPLEMENTATION}
    if compare_beam and compare_beam != beam:
        other = [r["caption"] for r in predict_with_progress(
            zoo_model, images, f"captioning, beam {compare_beam}", beam=compare_beam,
            retrieve=0)]
        out.update({f"beam{compare_beam}_{k}": v for k, v in bleu(other, refs).items()})
        out[f"beam{compare_beam}_exact_match"] = exact_match(other, refs)
        out[f"beam{compare_beam}_alpha"] = ALPHA
    if compare_retrieval and zoo_model.preprocessor.get("retrieval"):
        out.update(retrieval_metrics(zoo_model, examples))
    train = default_train(zoo_model) if train is None else train
    if train:
        nn = nearest_neighbour_captions(zoo_model, examples, train)
        nn_scores = bleu(nn, refs)
        out.update({f"nn_{k}": v for k, v in nn_scores.items()})
        out["nn_exact_match"] = exact_match(nn, refs)
    else:
        out["nn_bleu4"] = None
    groups = folder_groups(examples)
    if groups:                          # e.g. the emoji art styles: images/google, images/twitter
        out["by_folder"] = {}
        for f, idx in groups.items():
            row = {"images": len(idx), "bleu4": bleu([preds[i] for i in idx], [refs[i] for i in idx])["bleu4"],
                   "exact_match": exact_match([preds[i] for i in idx], [refs[i] for i in idx])}
            if train:
                row["nn_bleu4"] = bleu([nn[i] for i in idx], [refs[i] for i in idx])["bleu4"]
            out["by_folder"][f] = row
    out["samples"] = [{"image": e["image"], "caption": p, "references": r[:3]}
                      for e, p, r in list(zip(examples, preds, refs))[:5]]
    return out


def folder_groups(examples: list[dict]) -> dict[str, list[int]]:
    """The examples' indices per image folder (art style), when they span more than one.

    >>> folder_groups([{"image": "i/google/a.png"}, {"image": "i/twitter/a.png"}])
    {'google': [0], 'twitter': [1]}
    """
    folders = [Path(e["image"]).parent.name for e in examples]
    if len(set(folders)) < 2:
        return {}
    return {f: [i for i, g in enumerate(folders) if g == f] for f in sorted(set(folders))}


def retrieval_metrics(zoo_model, examples: list[dict]) -> dict:
    """BLEU-1..4 and exact match of predict()'s default decoding with the bundle's
    retrieval memory (the search's caption reranked against the nearest training images'
    captions, retrieval.py), as `retrieval_*`; BLEU-4 per image folder (art style) too."""
    from zoo.monitor import predict_with_progress

    refs = [e["captions"] for e in examples]
    preds = [r["caption"] for r in predict_with_progress(
        zoo_model, [e["image"] for e in examples], "captioning, retrieval rerank")]
    out = {f"retrieval_{k}": v for k, v in bleu(preds, refs).items()}
    out["retrieval_exact_match"] = exact_match(preds, refs)
    out["retrieval_setting"] = {k: v for k, v in zoo_model.preprocessor["retrieval"].items()
                                if k not in ("features", "shape", "captions", "caption_of")}
    for f, idx in folder_groups(examples).items():
        out[f"retrieval_bleu4_{f}"] = bleu([preds[i] for i in idx], [refs[i] for i in idx])["bleu4"]
    return out


def build_retrieval(bundle_dir, data_dir, **settings) -> dict:
    """Write the retrieval memory into the bundle's preprocessor (`retrieval`, the manifest
    re-hashed): the L2-normalised mean encoder feature of every image of the train split
    (in the art styles the model was trained on) as float16, with its first caption, and
    the scoring `settings` (k, alpha, consensus, model_bonus, chosen_on: chosen on the
    selection split by benchmarks/caption_retrieval.py). Returns the memory's size.

        python -m benchmarks.caption_retrieval --ship
    """
    import zoo
    from zoo.bundle import set_preprocessor_fields
    from zoo.data import read_split

    from .data import in_styles
    from .retrieval import pack_memory

    m = zoo.load(str(bundle_dir))
    train = in_styles(read_split(m.entry, Path(data_dir), "train"), m.preprocessor.get("styles"))
    memory = pack_memory(_features(m, [e["image"] for e in train]),
                         [e["captions"][0] for e in train], **settings)
    set_preprocessor_fields(bundle_dir, retrieval=memory)
    return {"images": len(train), "captions": len(memory["captions"]),
            "bytes": len(memory["features"])}


def calibrate_ood(bundle_dir, data_dir, percentile: float = 99.0) -> dict:
    """Set the bundle's out-of-distribution limits (Host.warning): the mean and spread of
    the mean encoder feature over the train split; on valid (the selection split: limits
    are choices) the `percentile`-th percentile of the RMS z-score and the
    (100 - `percentile`)-th of the plain-background share; written into
    preprocessor.json (`ood`) and the manifest re-hashed.

        python -c 'from zoo_pipelines.captioning.evaluate import calibrate_ood as c; c("zoo_pipelines/saved_models/caption-cnn-lstm", "../shared/data/captioning/emoji")'
    """
    import zoo
    from zoo.bundle import set_preprocessor_fields
    from zoo.data import read_split

    from .host import load_image, plain_background
    from .model import feature_model

    m = zoo.load(str(bundle_dir))
    fm, size = feature_model(m.keras_model), int(m.preprocessor["image_size"])

    def features(split):
        paths = [e["image"] for e in read_split(m.entry, Path(data_dir), split)]
        images = [load_image(p, size, "image") for p in paths]
        pooled = np.concatenate([np.asarray(fm(np.stack(images[s:s + 256])))
                                 for s in range(0, len(images), 256)])
        return pooled, np.array([plain_background(x) for x in images])

    train, _ = features("train")
    mean, std = train.mean(0), train.std(0) + 1e-6
    valid, background = features("valid")
    distance = np.sqrt((((valid - mean) / std) ** 2).mean(1))
    ood = {"mean": np.round(mean, 5).tolist(), "std": np.round(std, 5).tolist(),
           "max_distance": round(float(np.percentile(distance, percentile)), 3),
           "min_background": round(float(np.percentile(background, 100 - percentile)), 3),
           "chosen_on": f"{Path(data_dir).name} valid", "percentile": percentile}
    set_preprocessor_fields(bundle_dir, ood=ood)
    return {k: v for k, v in ood.items() if k not in ("mean", "std")}
