"""Captioning data: the splits, the caption vocabulary, the tf.data pipeline (teacher
forcing, bucketing by length). The readers of the emoji corpus, Flickr8k, COCO captions
and CSV files are in readers.py; an example is one image with all its reference
captions: {"image": absolute path, "captions": [str, ...]} (+ "keywords" for the emoji
corpus).

>>> prep, _ = fit_preprocessor([{"image": "x", "captions": ["a dog", "a cat"]}], min_count=1)
>>> prep["vocab"][:6], encode_caption("a cow", prep)
(['<pad>', '<start>', '<end>', '<unk>', 'a', 'cat'], [1, 4, 3, 2])
"""
from __future__ import annotations

import os
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from zoo.data import bucketed_batches, carve, existing, left_out, split_name
from zoo.errors import DataFormatError, warn
from zoo.runtime import progress

from .host import END, SPECIALS, START, UNK, data_uri, load_image, open_image, tokenize
from .readers import read_captions


# ---- splits -------------------------------------------------------------------------------
# What every example read() returns has: evaluate() checks examples passed in memory.
EXAMPLE_KEYS = ("image", "captions")
# What fit_preprocessor's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"image_size": (8, 1024), "min_count": (1, None), "max_len": (2, 1000),
           "color_jitter": (0.0, 1.0), "keyword_weight": (0.0, None), "keyword_min_count": (1, None),
           "stroke_blur": (0.0, 1.0), "flat_style": (0.0, 1.0), "outline_style": (0.0, 1.0)}


def read(path: str | Path) -> list[dict]:
    """All examples of a captions file or folder (every split; readers.py)."""
    return _captions(existing(path, "captions file or folder", folder_ok=True), None)


SHOWN_BAD = 10          # unreadable images named in the warning, then a count


def _captions(path: Path, split: str | None) -> list[dict]:
    """read_captions, less the examples whose image Pillow cannot open (a text file or a
    broken download named .png), skipped with a warning that counts and names them, as a
    MIDI folder's unusable files are: one among 10,000 stopped a fine-tune after its
    first evaluation ("input 7: ... is not an image"), naming no line of the table.
    Only the header is read (10,000 small PNGs: seconds)."""
    from PIL import Image

    examples, kept, bad = read_captions(path, split), [], []
    base = path if path.is_dir() else path.parent
    for e in progress(examples, desc="checking images", unit="images"):
        try:
            with Image.open(e["image"]) as im:
                im.size
            kept.append(e)
        except Exception as error:      # UnidentifiedImageError, OSError, a bomb warning ...
            bad.append(f"{os.path.relpath(e['image'], base)} ({type(error).__name__})")
    named = "; ".join(bad[:SHOWN_BAD]) + (f"; and {len(bad) - SHOWN_BAD} more"
                                          if len(bad) > SHOWN_BAD else "")
    if not kept:
        raise DataFormatError(f"{path}: none of the {len(examples)} images could be read as "
                              f"an image (JPEG, PNG, GIF or WebP): {named}")
    if bad:
        warn(f"{path}: skipped {len(bad)} of {len(examples)} images that are not images "
             f"Pillow can read: {named}")
    return kept


REPORT_RULE = ("one base emoji in ten of the train split, in both art styles (a CRC-32 of "
               "its code points without skin-tone modifiers, so every skin tone of one emoji "
               "is on one side; other data: of the image's file name); report images that are "
               "a training image, byte for byte or near (a 16x16 grey thumbnail within 4 of "
               "one), are left out")
SKIN_TONES = {"1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff"}


def read_split(data_dir: str | Path, split: str) -> list[dict]:
    """One split (train, valid, report; "test" where the data has it) of a folder or file:
    the emoji `split` column, a CSV split column, the Flickr8k split lists
    (`Flickr_8k.trainImages.txt`, `Flickr_8k.devImages.txt`) or the COCO JSON per split
    (`captions_train2014.json`, `captions_val2014.json`); report is carved from train
    (REPORT_RULE)."""
    if split != "test":            # a user's data may have its own test split
        split = split_name(split, data_dir)
    path = existing(data_dir, "captions file or folder", folder_ok=True)
    if split == "report":
        train = _captions(path, "train")
        return unseen_images(carve(train, report_group, "report"),
                             carve(train, report_group, "train"), path)
    examples = _captions(path, split)
    return carve(examples, report_group, "train") if split == "train" else examples


def unseen_images(held: list[dict], train: list[dict], where) -> list[dict]:
    """`held` without the examples whose image is a training image: byte for byte, or
    near (a 16x16 grey thumbnail within NEAR_IMAGE mean difference of one; up to
    NEAR_TRAIN_MAX training images, beyond that byte for byte only).
    Emoji that share one picture (a territory's flag and its country's) fell on both sides
    of the base-emoji carve, and so did the man / woman / person variants of one emoji,
    drawn alike ("superhero" and "woman superhero"): 103 of 584 report images (BLEU-4
    0.6545 on them, 0.5068 on the rest; benchmarks/results/split_overlap.md)."""
    import hashlib

    def path(e):
        image = e.get("image")
        return str(image) if isinstance(image, (str, Path)) and Path(image).is_file() else None

    files = [path(e) for e in held]
    train_files = [f for f in map(path, train) if f]
    if train_files and len(train_files) <= NEAR_TRAIN_MAX:     # a copy is at distance 0
        bank = np.stack([_thumbnail(f) for f in train_files])
        seen = [bool(f) and float(np.abs(bank - _thumbnail(f)).mean(1).min()) <= NEAR_IMAGE
                for f in files]
        return left_out(held, seen, where, f"the same image, or one whose 16x16 grey "
                                           f"thumbnail is within {NEAR_IMAGE:g}")
    sizes = {Path(f).stat().st_size for f in files if f}
    digests = {hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in train_files
               if Path(f).stat().st_size in sizes}        # only files that can be equal
    seen = [bool(f) and hashlib.sha256(Path(f).read_bytes()).hexdigest() in digests
            for f in files]
    return left_out(held, seen, where, "the same image file")


NEAR_IMAGE = 4.0             # mean |grey difference| (0-255) of thumbnails that look the same
NEAR_TRAIN_MAX = 50_000      # training images thumbnailed for the near check (emoji: 5,464)


@lru_cache(maxsize=None)
def _thumbnail(path: str) -> np.ndarray:
    """A 16x16 grey thumbnail of an image file as the model sees it (host.open_image:
    transparency on white), flattened."""
    from PIL import Image

    grey = open_image(path, "image").convert("L").resize((16, 16), Image.BILINEAR)
    return np.asarray(grey, np.float32).ravel()


def report_group(example: dict) -> str:
    """What the report split holds out together: the base emoji (an image's code points
    without skin-tone modifiers, whatever the art style), or the image's file name.

    >>> report_group({"image": "images/google/1f44b-1f3fd.png"})
    '1f44b'
    """
    parts = Path(example["image"]).stem.split("-")
    # A skin-tone swatch alone (1f3fb.png) is its own emoji.
    return "-".join(p for p in parts if p not in SKIN_TONES) or "-".join(parts)


def style_of(example: dict) -> str:
    """The image's folder: the emoji art style (images/google, images/twitter)."""
    return Path(example["image"]).parent.name


def in_styles(examples: list[dict], styles) -> list[dict]:
    """The examples whose image folder is one of `styles` (a list, or names joined by
    ","; None or empty: all), or a DataFormatError naming the folders there are.

    >>> [e["image"] for e in in_styles([{"image": "g/1.png"}, {"image": "t/1.png"}], "t")]
    ['t/1.png']
    """
    if not styles:
        return examples
    names = styles.split(",") if isinstance(styles, str) else list(styles)
    kept = [e for e in examples if style_of(e) in names]
    if not kept:
        raise DataFormatError(f"styles {names}: no image in such a folder; expected one of "
                              f"{sorted({style_of(e) for e in examples})}")
    return kept


# ---- vocabulary ---------------------------------------------------------------------------
def caption_counts(examples) -> Counter:
    return Counter(w for e in examples for c in e["captions"] for w in tokenize(c))


def fit_preprocessor(train: list[dict], image_size: int = 64, min_count: int = 2,
                     max_len: int | None = None, color_jitter: float = 1.0,
                     keyword_weight: float = 0.0, keyword_min_count: int = 4,
                     styles=None, stroke_blur: float = 0.0,
                     flat_style: float = 0.0, outline_style: float = 0.0) -> tuple[dict, None]:
    """Vocabulary (words seen `min_count` times, most frequent first, after the specials
    <pad> <start> <end> <unk>), image size, caption length buckets, the training
    augmentation's `color_jitter` strength (make_dataset; 0 = shift/crop only), and, with
    `keyword_weight` > 0 and data with keywords (the emoji corpus), the keyword labels of
    the auxiliary multi-label target (keywords on `keyword_min_count` training images).
    `styles` (image folders, e.g. "google"; None: all) trains on those art styles only
    (in_styles; make_dataset and the nearest-neighbour baseline keep to them): the
    cross-style check trains on one style and measures the other. `stroke_blur` is the
    share of training images drawn differently (make_dataset: thicker or thinner strokes,
    or blurred; 0: off), `flat_style` the share redrawn in flat colours (flat_colours;
    0: off), `outline_style` the share drawn with dark outlines (outlined; 0: off)."""
    train = in_styles(train, styles)
    counts = caption_counts(train)
    words = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
    lengths = [len(tokenize(c)) for e in train for c in e["captions"]]
    longest = int(np.percentile(lengths, 99)) if lengths else 16
    max_len = int(max_len or max(longest + 1, 4))      # words + <end>
    buckets = sorted({b for b in (8, 16, 24, 32, 48) if b < max_len + 1} | {max_len + 1})
    prep = {"vocab": SPECIALS + words, "image_size": int(image_size), "max_len": max_len,
            "caption_buckets": buckets, "min_count": int(min_count),
            "color_jitter": float(color_jitter)}
    if stroke_blur:
        prep["stroke_blur"] = float(stroke_blur)
    if flat_style:
        prep["flat_style"] = float(flat_style)
    if outline_style:
        prep["outline_style"] = float(outline_style)
    if styles:
        prep["styles"] = sorted({style_of(e) for e in train})
    if keyword_weight > 0:
        kc = Counter(k for e in train for k in set(e.get("keywords") or ()))
        prep["keywords"] = sorted(k for k, c in kc.items() if c >= keyword_min_count)
    return prep, None


def keyword_targets(examples: list[dict], keywords: list[str]) -> np.ndarray:
    """Multi-hot [N, K] float32 of each example's keywords; -1 rows for examples without
    keywords (Flickr8k, COCO, CSV: the loss skips them)."""
    index = {k: i for i, k in enumerate(keywords)}
    out = np.zeros((len(examples), len(keywords)), np.float32)
    for n, e in enumerate(examples):
        if not e.get("keywords"):
            out[n] = -1.0
        for k in e.get("keywords") or ():
            if k in index:
                out[n, index[k]] = 1.0
    return out


def grow_vocab(prep: dict, examples: list[dict], min_count: int | None = None) -> list[str]:
    """Append words of `examples` missing from the vocabulary (ids of known words stay the
    same, so a fine-tuned model keeps its embeddings); returns the new words."""
    counts = caption_counts(examples)
    known = set(prep["vocab"])
    mc = prep.get("min_count", 2) if min_count is None else min_count
    new = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
           if c >= mc and w not in known]
    prep["vocab"] = list(prep["vocab"]) + new
    return new


def grow_preprocessor(prep: dict, examples: list[dict]) -> list[str]:
    """fine_tune's hook (zoo.training.fine_tune): grow `prep`'s vocabulary in place with
    the new data's words seen `min_count` times, and its longest caption and length
    buckets where the new captions are longer (Flickr8k's vs emoji names); returns the
    new words. The out-of-distribution limits (`ood`, evaluate.calibrate_ood) describe the
    old training images and would flag the new domain's: they are dropped (re-run
    calibrate_ood on the fine-tuned bundle to get warnings back); so is the retrieval
    memory (evaluate.build_retrieval)."""
    prep.pop("styles", None)            # the new data's images are in folders of their own
    if prep.pop("retrieval", None):     # features of the old encoder, captions of old data
        warn("fine_tune: the retrieval memory (the old training images' features and "
             "captions) is dropped; rebuild it with captioning.evaluate.build_retrieval on the "
             "fine-tuned bundle and its training data")
    if prep.pop("ood", None):
        warn("fine_tune: the out-of-distribution limits describe the old training images and "
             "are dropped; re-run captioning.evaluate.calibrate_ood on the fine-tuned bundle to "
             "get warnings back")
    fresh, _ = fit_preprocessor(examples, image_size=prep["image_size"],
                                min_count=prep.get("min_count", 2))
    if fresh["max_len"] > prep["max_len"]:
        prep["max_len"], prep["caption_buckets"] = fresh["max_len"], fresh["caption_buckets"]
    return grow_vocab(prep, examples)


def encode_caption(caption: str, prep: dict) -> list[int]:
    """<start> word ids <end>, unknown words as <unk>, cut to max_len words."""
    index = {w: i for i, w in enumerate(prep["vocab"])}
    ids = [index.get(w, UNK) for w in tokenize(caption)][:prep["max_len"] - 1]
    return [START] + ids + [END]


# ---- tf.data ------------------------------------------------------------------------------
def pairs(examples: list[dict], prep: dict) -> tuple[list[str], list[list[int]], list[int]]:
    """One (image, caption ids, example index) triple per reference caption."""
    images, ids, which = [], [], []
    for n, e in enumerate(examples):
        for c in e["captions"]:
            images.append(e["image"])
            ids.append(encode_caption(c, prep))
            which.append(n)
    return images, ids, which


def make_dataset(examples: list[dict], prep: dict, batch_size: int, shuffle: bool = False,
                 seed: int = 0, drop_remainder: bool = False, augment: bool | None = None):
    """({"image": float32 [S, S, 3] 0..255, "tokens": int32 [T] <start> w1 .. wn},
    {"logits": [T] w1 .. wn <end>, "attention": the same ids (they mask the attention
    regulariser)} (+ "keywords": multi-hot [K] when prep has keyword labels)), 0-padded,
    batched by caption length.

    Images are decoded by Pillow (host.load_image, the same code predict() uses) inside
    tf.data. Augmentation (default: when shuffling, i.e. training) is a random crop (pad by
    1/8 of the side, crop back) and colour jitter (brightness +-20, contrast and saturation
    x0.8..1.2, all scaled by prep["color_jitter"]; 0 turns it off: where captions name a
    colour, such as the emoji skin tones, jitter blurs neighbouring tones), and on a share
    prep["stroke_blur"] of the images (default 0) a change of drawing style that keeps the
    colours: strokes one pixel thicker or thinner (a 3x3 min or max filter) or a 3x3
    binomial blur, one of the three at random; and on a share prep["flat_style"] (default
    0) the image in flat colours (flat_colours: a palette of 6-12, as a flat-shaded art
    style such as Twemoji draws), and on a share prep["outline_style"] (default 0) with
    a dark line along every edge (outlined, as styles such as OpenMoji draw). There
    is NO horizontal flip: it changes the meaning of arrows, hands, flags and text, which
    captions name ("right arrow", "flag: ..."); add one only for data where it is harmless.
    With prep["styles"] only the images of those folders are used (fit_preprocessor)."""
    import tensorflow as tf

    examples = in_styles(examples, prep.get("styles"))
    size = int(prep["image_size"])
    augment = shuffle if augment is None else augment
    jitter = float(prep.get("color_jitter", 1.0))     # bundles from before the option: 1
    stroke = float(prep.get("stroke_blur", 0.0))
    flat = float(prep.get("flat_style", 0.0))
    outline = float(prep.get("outline_style", 0.0))
    images, ids, which = pairs(examples, prep)
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(images))
        images, ids, which = [images[i] for i in order], [ids[i] for i in order], \
            [which[i] for i in order]
    tokens = tf.ragged.constant([c[:-1] for c in ids], dtype=tf.int32)
    targets = tf.ragged.constant([c[1:] for c in ids], dtype=tf.int32)
    # Keyword targets by example index (a [pairs, K] table would repeat each row per caption).
    kw = keyword_targets(examples, prep["keywords"]) if prep.get("keywords") else None
    ds = tf.data.Dataset.from_tensor_slices((tf.constant(images), tokens, targets,
                                             tf.constant(which, tf.int32)))
    if shuffle:
        ds = ds.shuffle(min(len(images), 4096), seed=seed, reshuffle_each_iteration=True)

    def load(path):
        return load_image(path.decode() if isinstance(path, bytes) else str(path), size,
                          "training image")

    kw_table = tf.constant(kw) if kw is not None else None

    def prepare(path, tok, tgt, n, draw=None):
        img = tf.numpy_function(load, [path], tf.float32)
        img.set_shape((size, size, 3))
        if augment:
            img = _augment(img, size, jitter, stroke, flat, outline, draw)
        y = {"logits": tgt, "attention": tgt}
        if kw_table is not None:
            y["keywords"] = tf.gather(kw_table, n)
        return {"image": img, "tokens": tok}, y

    ds = ds.map(lambda p, a, b, n: (p, a.to_tensor() if hasattr(a, "to_tensor") else a,
                                    b.to_tensor() if hasattr(b, "to_tensor") else b, n))
    if augment:     # each image's own seed, in order: the same draws in every process
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, draws)).map(lambda ex, draw: (*ex, draw))
    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    pad_y = {"logits": 0, "attention": 0, **({"keywords": 0.0} if kw is not None else {})}
    ds = bucketed_batches(ds, lambda x, y: tf.shape(x["tokens"])[0], prep["caption_buckets"],
                          batch_size, ({"image": 0.0, "tokens": 0}, pad_y),
                          drop_remainder, lengths=[len(c) - 1 for c in ids])
    return ds.prefetch(tf.data.AUTOTUNE)


def flat_colours(img: np.ndarray, seed: int, sizes=(6, 12), rounds: int = 6) -> np.ndarray:
    """The image redrawn in flat colours: each pixel takes the colour of its cluster in a
    k-means palette (scikit-learn, k-means++ from `seed`, `rounds` iterations) of k in
    `sizes` colours (k drawn with `seed`). Shading and gradients (Noto's style) become flat
    areas (Twemoji's); the main colours, skin tones among them, stay.

    >>> img = np.zeros((4, 4, 3), np.float32); img[:, 2:] = 255; img[0, 0] = 20
    >>> sorted(np.unique(flat_colours(img, 0, sizes=(2, 2))).tolist())
    [2.5, 255.0]
    """
    from sklearn.cluster import KMeans

    pixels = img.reshape(-1, 3).astype(np.float32)
    k = int(np.random.default_rng(int(seed)).integers(sizes[0], sizes[1] + 1))
    km = KMeans(n_clusters=min(k, len(np.unique(pixels, axis=0))), n_init=1, max_iter=rounds,
                random_state=int(seed) % 2 ** 32).fit(pixels)
    return km.cluster_centers_[km.labels_].reshape(img.shape).astype(np.float32)


OUTLINE = 35.0          # the outlines' grey: near black, as outlined styles draw them


def outlined(img):
    """`img` (float [S, S, 3], 0..255) with a dark 1-pixel line wherever a colour channel
    changes sharply (a Sobel gradient over 0.6 of full scale): the outlines that some art
    styles draw round every shape and detail.

    >>> import numpy as np
    >>> img = np.full((8, 8, 3), 255.0, np.float32); img[2:6, 2:6] = 0.0
    >>> int((outlined(img).numpy()[..., 0] == OUTLINE).sum())
    32
    """
    import tensorflow as tf

    grad = tf.image.sobel_edges(tf.convert_to_tensor(img)[None] / 255.0)   # [1, S, S, 3, 2]
    edge = tf.reduce_max(tf.norm(grad, axis=-1), axis=-1, keepdims=True)[0] > 0.6
    return tf.where(edge, OUTLINE, img)


def _augment(img, size: int, jitter: float = 1.0, stroke: float = 0.0, flat: float = 0.0,
             outline: float = 0.0, seed=None):
    """`img` augmented with stateless random ops drawn from `seed` (int64 [2]; None: one
    drawn from TensorFlow's global generator). make_dataset gives every image its own seed
    from the run's seed: stateful ops (tf.random.uniform) in a parallel map drew in the
    order the threads happened to run, so the same command gave other images, and other
    weights, in every process."""
    import tensorflow as tf

    if seed is None:
        seed = tf.random.uniform([2], 0, 2 ** 31 - 1, dtype=tf.int64)
    s = iter(tf.unstack(tf.random.experimental.stateless_split(seed, 9)))

    def uniform(*args, **kwargs):
        return tf.random.stateless_uniform([], next(s), *args, **kwargs)

    if flat > 0:
        k_seed = uniform(0, 2 ** 31 - 1, dtype=tf.int64)
        redrawn = lambda: tf.ensure_shape(                               # noqa: E731
            tf.numpy_function(flat_colours, [img, k_seed], tf.float32), img.shape)
        img = tf.cond(uniform() < flat, redrawn, lambda: img)

    if outline > 0:
        img = tf.cond(uniform() < outline, lambda: outlined(img), lambda: img)

    if stroke > 0:
        x = img[None] - 255.0                           # white 0: padding stays white
        kernel = tf.constant([1.0, 2.0, 1.0]) / 4.0
        kernel = tf.tile((kernel[:, None] * kernel[None, :])[:, :, None, None], [1, 1, 3, 1])
        styles = [lambda: x, lambda: -tf.nn.max_pool2d(-x, 3, 1, "SAME"),      # thicker
                  lambda: tf.nn.max_pool2d(x, 3, 1, "SAME"),                    # thinner
                  lambda: tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")]
        pick = tf.where(uniform() < stroke, uniform(1, 4, dtype=tf.int32), 0)
        img = tf.switch_case(pick, styles)[0] + 255.0

    pad = max(size // 8, 1)
    # Pad with white (the emoji background), then crop back: a random shift of <= 1/8 side.
    img = tf.pad(img - 255.0, [[pad, pad], [pad, pad], [0, 0]]) + 255.0
    img = tf.image.stateless_random_crop(img, (size, size, 3), next(s))
    if jitter > 0:
        img = tf.image.stateless_random_brightness(img, 20.0 * jitter, next(s))
        img = tf.image.stateless_random_contrast(img, 1.0 - 0.2 * jitter, 1.0 + 0.2 * jitter,
                                                 next(s))
        img = tf.image.stateless_random_saturation(img, 1.0 - 0.2 * jitter,
                                                   1.0 + 0.2 * jitter, next(s))
    return tf.clip_by_value(img, 0.0, 255.0)


def parity_examples(valid: list[dict], n: int = 16) -> list[str]:
    """`n` validation images (real images, for export parity) as data URIs: the bundle
    carries them (about 3 kB each for the emoji), so its checks need no dataset on disk."""
    return [data_uri(e["image"]) for e in valid[:n]]
