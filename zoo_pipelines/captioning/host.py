"""Captioning pre/post-processing, in numpy + Pillow (no TensorFlow here).

Images come in as paths, bytes, `data:image/...;base64,` URIs, PIL images or uint8 arrays (JPEG/PNG/GIF/WebP, up to MAX_PIXELS,
grayscale or RGBA), are converted to RGB as a viewer shows them (turned by their EXIF
orientation, colours converted to sRGB from an embedded ICC profile, 16-bit greyscale scaled;
transparency composited onto white, as the emoji corpus was) and resized to the model's
square input. The host calls the exported
"encoder" once per image (image -> feature grid + initial decoder state) and the "step"
function once per word and beam hypothesis (word + state + features -> log-probabilities,
attention over the grid, new state), whichever backend runs them (Keras, TFLite, ONNX),
with zoo.beam's search as Xu et al. decode: each finished caption narrows the beam by one,
and captions cut at max_len compete only when none ended. With a retrieval memory in the
bundle (retrieval.py), the search's caption then competes with the captions of the
image's nearest training images, each scored by the same step function (teacher-forced).

>>> tokenize("Woman juggling: medium skin tone")
['woman', 'juggling', ':', 'medium', 'skin', 'tone']
>>> detokenize(['flag', ':', 'germany'])
'flag: germany'
>>> detokenize(tokenize("man: medium-light skin tone"))
'man: medium-light skin tone'
"""
from __future__ import annotations

import io
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo import contract
from zoo.beam import batched, beam_search, units_a_call
from zoo.errors import InputError
from zoo.options import as_batch, check_int, check_number, input_file

from .retrieval import choose, memory_matrix, neighbours, recombine

EMPTY_INPUT = np.zeros((0, 0, 3), np.uint8)      # an image with no pixels
# predict()'s defaults: beam 3 with length normalisation (log p / (len + 1)^ALPHA).
# Chosen on the emoji valid split (benchmarks/caption_cnn_lstm_beam.py), so its score there
# is optimistic: alpha 0.3 beat greedy, alpha 0, 0.6 and 1.0 for both trained models
# (BLEU-4 0.5913 vs greedy 0.5790 and alpha=1 0.5733 for the bundle before report
# splits; the retrained one: beam 3 0.5044 vs greedy 0.4976); alpha 1 (mean log p per
# word) lengthens captions with wrong "skin tone" / "facing right" tails.
BEAM, ALPHA = 3, 0.3
# Bounds of predict()'s options: the step runs once per word and hypothesis, so time grows
# with beam x max_len (beam=10**4 ran 146 s). 64 is far wider than any beam that helps (3 is
# the measured best) and runs in seconds; the shipped model's training limit is 16 words,
# 100 is ample for any caption. Length normalisation divides by (length + 1)**alpha: above 1 it
# already favours the longest hypothesis; 5 keeps the power finite.
MAX_BEAM = 64
MAX_LEN = 100
MAX_ALPHA = 5.0
# predict()'s `retrieve` (k neighbours; 0: off): each neighbour's caption is one more row
# of teacher-forced step calls, so time grows with k; the chosen k is far below this.
MAX_K = 64
# Hypothesis rows a step call takes where the backend takes batches (Keras, ONNX): images
# share calls up to this many rows (beam 3: ten images a call).
ROWS_A_CALL = 32
PAD, START, END, UNK = 0, 1, 2, 3
NEVER = (PAD, START)      # tokens no caption holds: an untrained model may still pick them
SPECIALS = ["<pad>", "<start>", "<end>", "<unk>"]
TOKEN_RE = re.compile(r"[\w'’]+|[^\w\s]")
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
# The largest image decoded: a few-KB PNG can declare 20000 x 20000 pixels (1.2 GB as RGB).
# 50 MP still takes any phone or DSLR photo (a 48 MP 8000 x 6000 one included).
MAX_PIXELS = 50_000_000
_OPEN_LOCK = threading.Lock()     # warnings.catch_warnings() is process-wide state


def tokenize(caption: str) -> list[str]:
    """Lower-cased words; punctuation (':' in 'flag: germany', ',') as tokens of its own."""
    return TOKEN_RE.findall(caption.lower())


def detokenize(words: list[str]) -> str:
    """Words back to text: no space before ':' ',' '.' etc., none around '-' between words
    ('medium-light skin tone')."""
    text = re.sub(r" ([:,.;!?)])", r"\1", " ".join(words))
    return re.sub(r"(\w) - (?=\w)", r"\1-", text)


# ---- images -------------------------------------------------------------------------------
def _upright(img):
    """The image as viewers show it: turned by its EXIF orientation (a phone photo is stored
    sideways with a tag saying so; the model saw it lying on its side). A damaged EXIF block
    leaves the image as stored, as viewers do."""
    from PIL import ImageOps

    try:
        if img.getexif().get(0x0112, 1) in range(2, 9):     # 0x0112: Orientation
            return ImageOps.exif_transpose(img)
    except Exception:                   # noqa: BLE001 (Pillow raises many kinds on bad EXIF)
        pass
    return img


def _srgb(img):
    """The image in sRGB (what the emoji corpus is and what viewers show) where it embeds
    another ICC profile (Adobe RGB, an iPhone's Display P3, a print CMYK): its numbers were
    read as sRGB, colours shifted without a word. A profile littlecms cannot read leaves the
    image as it is, as viewers without colour management show it."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower():
            return img                  # the usual case: already sRGB
        return ImageCms.profileToProfile(img, profile, ImageCms.createProfile("sRGB"),
                                         outputMode="RGBA" if img.mode == "RGBA" else "RGB")
    except Exception:                   # noqa: BLE001 (ImageCms.PyCMSError, OSError, ...)
        return img


def _to_8bit(img):
    """16-bit and float greyscale ("I;16", "I", "F": a 16-bit PNG, a scanner's TIFF) as 8-bit
    "L": Pillow's own conversion clips at 255, so a 16-bit image came out nearly all white.
    16-bit values are scaled by 255/65535; floats in [0, 1] by 255."""
    from PIL import Image

    a = np.asarray(img, np.float32)
    peak = float(a.max()) if a.size else 0.0
    if img.mode.startswith("I;16") or peak > 255:
        a = a / 257.0
    elif img.mode == "F" and peak <= 1.0:
        a = a * 255.0
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")


def _to_rgb(img):
    """RGB as a viewer shows it (EXIF orientation applied, colours in sRGB, 16-bit or float
    greyscale scaled to 8 bits) with any transparency composited onto white (the emoji
    corpus' background)."""
    from PIL import Image

    img = _srgb(_upright(img))
    if img.mode.startswith("I") or img.mode == "F":
        img = _to_8bit(img)
    if img.mode in ("La", "RGBa"):      # premultiplied: "La" to RGB was a raw ValueError
        img = img.convert(img.mode[:-1] + "A")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, img).convert("RGB")
    return img.convert("RGB")


def open_image(item, what: str = "input"):
    """A PIL RGB image from a path, bytes, a PIL image or a uint8 array [H, W(, C)]."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(item, Image.Image):
        if not item.width or not item.height:
            raise InputError(f"{what}: the image has no pixels ({item.size}); expected an image "
                             f"at least 1 x 1")
        _check_size(item.size, what, "the PIL image")    # it may not be decoded yet
        return _to_rgb(item)
    if isinstance(item, np.ndarray):
        if item.ndim not in (2, 3) or (item.ndim == 3 and item.shape[2] not in (1, 3, 4)):
            raise InputError(f"{what}: an image array must be [H, W], [H, W, 1], [H, W, 3] or "
                             f"[H, W, 4]; got shape {item.shape}")
        if not item.size:
            raise InputError(f"{what}: the image array is empty (shape {item.shape}); expected "
                             f"an image at least 1 x 1")
        if item.dtype != np.uint8:
            raise InputError(f"{what}: an image array must be uint8 (0..255); got {item.dtype}")
        arr = item[..., 0] if item.ndim == 3 and item.shape[2] == 1 else item
        return _to_rgb(Image.fromarray(arr))
    if isinstance(item, str) and item.startswith("data:"):
        data, name = _data_uri(item, what), "data URI"
    elif isinstance(item, (str, Path)):
        try:        # an empty name, one too long for the system (a data URI in quotes), a folder
            path = input_file(item, "image file", "an image path or a data URI starting "
                                                  "'data:image/', without quotes")
        except InputError as e:
            raise InputError(f"{what}: {e}") from None
        data, name = path.read_bytes(), str(path)
    elif isinstance(item, (bytes, bytearray)):
        data, name = bytes(item), "image bytes"
    else:
        raise InputError(f"{what}: expected an image path, encoded image bytes, a data URI, a "
                         f"PIL image or a uint8 array; got {type(item).__name__}")
    if not data:
        raise InputError(f"{what}: {name} is empty (0 bytes); expected an encoded image "
                         f"(JPEG, PNG, ...)")
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            # Pillow's own bomb check warns above ~89 MP (our stricter check follows) and
            # raises DecompressionBombError above twice that.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))      # reads the header only
        _check_size(img.size, what, name)            # before a single pixel is decoded
        img.load()                       # decode now: a truncated file fails here, not later
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"{what}: {name} is not an image Pillow can read (expected JPEG, PNG, "
                         f"GIF or WebP)") from None
    except Image.DecompressionBombError as e:
        raise InputError(f"{what}: {name} is too large to decode ({e}); expected at most "
                         f"{MAX_PIXELS:,} pixels") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{what}: {name} is damaged or truncated ({e}); expected a whole "
                         f"image file (download or save it again)") from None
    return _to_rgb(img)


def _check_size(size: tuple, what: str, name: str) -> None:
    """Refuse images larger than MAX_PIXELS from their declared size, before decoding."""
    if size[0] * size[1] > MAX_PIXELS:
        raise InputError(f"{what}: {name} is {size[0]} x {size[1]} pixels; expected at most "
                         f"{MAX_PIXELS:,} pixels (a decompression bomb, or a photo to "
                         f"downscale first)")


def _data_uri(uri: str, what: str) -> bytes:
    """The bytes of a `data:image/png;base64,...` URI (how a bundle keeps its parity
    images, so it needs no dataset on disk)."""
    import base64
    import binascii

    head, comma, body = uri.partition(",")
    if not comma or not head.endswith(";base64"):
        raise InputError(f"{what}: expected a base64 data URI 'data:image/...;base64,...'; "
                         f"got {uri[:40]!r}")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as e:
        raise InputError(f"{what}: the data URI is not valid base64 ({e}); expected "
                         f"'data:image/...;base64,' and the image's base64") from None


def data_uri(path: str | Path) -> str:
    """An image file as a `data:image/...;base64,...` URI (predict() reads it back).

    >>> import tempfile, os; from PIL import Image
    >>> p = os.path.join(tempfile.mkdtemp(), "x.png"); Image.new("RGB", (3, 2)).save(p)
    >>> load_image(data_uri(p), 4).shape
    (4, 4, 3)
    """
    import base64

    path = Path(path)
    kind = {".jpg": "jpeg", ".jpeg": "jpeg"}.get(path.suffix.lower(), path.suffix.lower()[1:])
    return f"data:image/{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def load_image(item, size: int, what: str = "input") -> np.ndarray:
    """float32 [size, size, 3] in 0..255: the model input. Training (data.py) loads its
    images through this same function, so predict() sees exactly what training saw."""
    from PIL import Image

    img = open_image(item, what)
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, np.float32)


def _is_image(item) -> bool:
    """One image rather than a list of them (a PIL image has `getpixel`). An array of
    paths (dtype str) or of images (object, or stacked [N, H, W, C]) is several: it was
    read as one image ("must be [H, W], ...; got shape (2, 32, 32, 3)")."""
    if isinstance(item, np.ndarray):
        return item.dtype.kind not in "USO" and item.ndim <= 3
    return isinstance(item, (str, Path, bytes, bytearray)) or hasattr(item, "getpixel")


@dataclass
class Encoded:
    units: list          # per image: {"image": float32 [S, S, 3]}
    beam: int = BEAM
    max_len: int = 20
    alpha: float = ALPHA
    retrieve: int = 0              # neighbours whose captions compete (retrieval.py); 0: off
    images: list | None = None     # the RGB PIL images
    sources: list | None = None    # the input paths (None for bytes, arrays, PIL images)


def plain_background(image: np.ndarray) -> float:
    """Share of pixels that are near-white (after transparency is composited onto white):
    an icon's background. Photos have almost none.

    >>> plain_background(np.full((4, 4, 3), 255.0)), plain_background(np.zeros((4, 4, 3)))
    (1.0, 0.0)
    """
    return float((image.min(-1) > 0.94 * 255).mean())


class Caption(contract.Result):
    """One result: its attention grid ([words, grid, grid] floats, ~13,000 characters of a
    notebook's output) shown by its shape."""

    SHAPE_ONLY = ("attention",)


class Host(contract.Host):
    OPTION_BOUNDS = {"beam": f"1..{MAX_BEAM} (1: greedy)",
                     "max_len": f"1..{MAX_LEN} words (default: the training limit)",
                     "alpha": f"0..{MAX_ALPHA:g}",
                     "retrieve": f"0..{MAX_K} neighbours (0: the model's caption alone; "
                                 f"default: the bundle's retrieval setting)"}

    def __init__(self, config: dict):
        self.config = config
        self.size = int(config["image_size"])
        self.vocab = list(config["vocab"])           # id -> word; SPECIALS first
        self.state = config["state"]                 # {"h": units, "c": units}
        self.grid = int(config["grid"])
        self.memory = config.get("retrieval")        # retrieval.py; None: none kept
        self._matrix = None                          # its features, decoded on first use
        self._index = {w: i for i, w in enumerate(self.vocab)}

    def encode(self, inputs, beam: int = BEAM, max_len: int | None = None,
               alpha: float = ALPHA, retrieve: int | None = None) -> Encoded:
        """Options: `beam` width (1 = greedy), `max_len` words, length-normalisation `alpha`
        (defaults BEAM = 3, ALPHA = 0.3: what measured best on the emoji valid split),
        `retrieve`: how many nearest training images' captions compete with the search's
        (default: the bundle's retrieval memory's `k`, chosen on the emoji valid split;
        0: off; a bundle without a memory has only 0)."""
        inputs = as_batch(inputs, _is_image, "images (paths, bytes, data URIs, PIL images or "
                                              "uint8 arrays)")
        beam = check_int(beam, "beam", 1, MAX_BEAM)
        max_len = check_int(self.config.get("max_len", 20) if max_len is None else max_len,
                            "max_len", 1, MAX_LEN)
        alpha = check_number(alpha, "alpha", 0, MAX_ALPHA)
        retrieve = self._check_retrieve(retrieve)
        images = [open_image(x, f"input {i}") for i, x in enumerate(inputs)]
        units = [{"image": load_image(img, self.size)} for img in images]
        sources = [str(x) if isinstance(x, (str, Path)) else None for x in inputs]
        return Encoded(units, beam, max_len, alpha, retrieve, images, sources)

    def _check_retrieve(self, retrieve) -> int:
        if retrieve is None:
            return int(self.memory["k"]) if self.memory else 0
        retrieve = check_int(retrieve, "retrieve", 0, MAX_K)
        if retrieve and not self.memory:
            raise InputError("retrieve: this bundle keeps no retrieval memory (build one with "
                             "captioning.evaluate.build_retrieval); use retrieve=0")
        return retrieve

    def run(self, encoded: Encoded, call, rows: int = ROWS_A_CALL) -> list[dict]:
        """"encoder" once per image, then beam search over "step" (`call(name, inputs)`)
        and the retrieval rerank: one image at a time on the batch-1 TFLite export; where
        `call` takes batches (Keras, ONNX) several images share each call, up to `rows`
        rows of hypotheses."""
        encoder, step = batched(call, "encoder"), batched(call, "step")
        per_call = units_a_call(call, encoded.beam, rows)
        units, out = encoded.units, []
        for s in range(0, len(units), per_call):
            chunk = units[s:s + per_call]
            images = encoder({"image": np.stack([u["image"] for u in chunk])})
            bests = self.search(encoded, images, step)
            # the mean feature: what retrieval and `warning` compare with the training images
            pooled = images["features"].mean(axis=1)
            if encoded.retrieve:
                bests = self.rerank(encoded, images, step, bests, pooled)
            for unit, best, p in zip(chunk, bests, pooled):
                out.append({**best, "pooled": p, "background": plain_background(unit["image"])})
        return out

    def search(self, encoded: Encoded, images: dict, step) -> list[dict]:
        """The best caption (zoo.beam) of each image of the encoder outputs `images`
        (one row per image); `step` takes a batch (one row per hypothesis)."""
        names, K = list(self.state), encoded.beam
        # Each image's grid, once per hypothesis (zoo.beam keeps an image's hypotheses in
        # its own rows, so they never need reordering).
        rows = np.repeat(np.arange(len(images["features"])), K)
        grid = {k: images[k][rows] for k in ("features", "keys")}

        def advance(words, state):
            o = step({"word": words, **state, **grid})
            return o["log_probs"], {n: o[n] for n in names}, o

        def forbid(logp, seqs):      # never words; the serving graph forbids them too
            logp[:, list(NEVER)] = -np.inf

        return beam_search(advance, {n: images[n] for n in names}, START, END, K,
                           encoded.max_len, encoded.alpha, adjust=forbid,
                           trace=("attention",), narrow=True, prefer_ended=True)

    def rerank(self, encoded: Encoded, images: dict, step, bests: list, pooled) -> list[dict]:
        """For each image (a row of `images`), the best of the search's caption and the
        captions of its `encoded.retrieve` nearest training images (with the memory's
        `recombine`: also every base of these captions with every modifier part;
        retrieval.choose, with the memory's settings); a neighbour's caption keeps its own
        words, unknown ones included. Every image's candidates are teacher-forced together."""
        if self._matrix is None:
            self._matrix = memory_matrix(self.memory)
        found, owns, texts = [], [], []
        for best, p in zip(bests, pooled):
            near = neighbours(self.memory, p, encoded.retrieve, self._matrix)
            found.append([(self.memory["captions"][i], s) for i, s in near])
            own = [self.vocab[w] if w < len(self.vocab) else "<unk>" for w in best["ids"]]
            these = [c for c, _ in found[-1]]
            if self.memory.get("recombine"):        # bases x modifiers of all of them
                these = recombine([detokenize(own)] + these)
            owns.append(own)
            # a neighbour's caption the search found too competes once, as the model's
            texts.append([c for c in dict.fromkeys(these) if tokenize(c) != own])
        rows = [i for i, these in enumerate(texts) for _ in these]
        forced = iter(self.teacher_force({k: v[rows] for k, v in images.items()}, step,
                                         [tokenize(c) for these in texts for c in these]))
        return [self.pick_caption(encoded, *args, [next(forced) for _ in args[-1]])
                for args in zip(bests, found, owns, texts)]

    def pick_caption(self, encoded: Encoded, best: dict, found: list, own: list, texts: list,
                     forced: list) -> dict:
        """One image's caption among the search's `best` (words `own`) and the candidate
        `texts` (teacher-forced: `forced`), by retrieval.choose."""
        candidates = [{"words": own, "log_prob": best["log_prob"], "model": True}] + [
            {"words": tokenize(c), "log_prob": f["log_prob"], "model": False}
            for c, f in zip(texts, forced)]
        m = self.memory
        pick = choose(candidates, found, m["alpha"], m["consensus"], m["model_bonus"])
        shown = [{"caption": c, "similarity": round(s, 4)} for c, s in found[:3]]
        if pick == 0:
            return {**best, "retrieval": {"from": "model", "neighbours": shown}}
        f, words = forced[pick - 1], candidates[pick]["words"]
        whole = texts[pick - 1] in {c for c, _ in found}
        return {**f, "words": words, "ended": True,
                "score": f["log_prob"] / (len(words) + 1) ** encoded.alpha,
                "retrieval": {"from": "neighbour" if whole else "recombined",
                              "neighbours": shown}}

    def teacher_force(self, images: dict, step, captions: list[list[str]]) -> list[dict]:
        """log p(words, <end> | image) of each caption (unknown words as <unk>) and its
        attention [len, L], all captions in one batch through `step`; `images` holds the
        encoder outputs of each caption's image, one row per caption."""
        if not captions:
            return []
        targets = [[self._index.get(w, UNK) for w in c] + [END] for c in captions]
        R, T = len(targets), max(len(t) for t in targets)
        grid = {k: images[k] for k in ("features", "keys")}
        state = {n: images[n] for n in self.state}
        words = np.full(R, START, np.int32)
        total, attention = np.zeros(R), []
        for t in range(T):
            o = step({"word": words, **state, **grid})
            live = np.array([t < len(x) for x in targets])
            target = np.array([x[t] if t < len(x) else END for x in targets])
            total += np.where(live, np.asarray(o["log_probs"], np.float64)[np.arange(R), target], 0)
            attention.append(np.asarray(o["attention"]))
            state = {n: o[n] for n in self.state}
            words = target.astype(np.int32)
        return [{"ids": x[:-1], "log_prob": float(total[r]),
                 "attention": np.stack([a[r] for a in attention[:len(x) - 1]])
                 if len(x) > 1 else np.zeros((0, attention[0].shape[1]), np.float32)}
                for r, x in enumerate(targets)]

    def decode(self, encoded: Encoded, outputs: list[dict]) -> list[dict]:
        results = []
        sources = encoded.sources or [None] * len(outputs)
        for hyp, source in zip(outputs, sources):
            words = hyp.get("words") or [self.vocab[w] if w < len(self.vocab) else "<unk>"
                                         for w in hyp["ids"]]
            att = np.asarray(hyp["attention"], np.float32).reshape(len(words), self.grid, self.grid)
            result = Caption({
                "caption": detokenize(words), "words": words, "score": float(hyp["score"]),
                "attention": att.tolist(), "source": source,
                # the geometric-mean probability of its words (and <end>)
                "confidence": round(float(np.exp(hyp["log_prob"] / (len(words) + 1))), 3)})
            if "retrieval" in hyp:      # where the caption came from, and the neighbours
                result["retrieval"] = hyp["retrieval"]
            warning = self.warning(hyp["pooled"], hyp["background"]) if "pooled" in hyp else None
            if warning:
                result["warning"] = warning
            results.append(result)
        return results

    def warning(self, pooled: np.ndarray, background: float) -> str | None:
        """Why this image looks unlike the training images, or None. Two checks against the
        bundle's `ood` (evaluate.calibrate_ood: statistics of the train split, limits chosen
        on the selection split): the share of plain background (icons have much, photos
        almost none), and the RMS z-score of the mean encoder feature."""
        ood = self.config.get("ood")
        if not ood:
            return None
        if background < ood["min_background"]:
            return (f"this image has {background:.0%} plain background; {ood['percentile']:g} % "
                    f"of {ood['chosen_on']} images have at least {ood['min_background']:.0%}: "
                    f"it is probably not like the training images (a photo?), and the caption "
                    f"is probably wrong")
        z = (pooled - np.asarray(ood["mean"])) / np.asarray(ood["std"])
        distance = float(np.sqrt(np.mean(z ** 2)))
        if distance > ood["max_distance"]:
            return (f"this image is unlike the training images (feature distance {distance:.2f}"
                    f" > {ood['max_distance']:.2f}, which {ood['percentile']:g} % of "
                    f"{ood['chosen_on']} images stay under): the caption is probably wrong")
        return None

    def plot(self, results: list[dict], path: str | Path, images: list | None = None) -> Path:
        """`zoo predict ... --plot out.png`: attention maps of up to 6 results (plot.py)."""
        from .plot import plot_results

        return plot_results(results, path, images)

    @staticmethod
    def describe(result: dict) -> str:
        origin = {"neighbour": "; the name of a similar training image",
                  "recombined": "; parts of similar training images' names"}.get(
            result.get("retrieval", {}).get("from"), "")
        return (f"{result['caption']!r} (score {result['score']:.3f}: its log-probability, "
                f"length-normalised; nearer 0 = surer{origin})")

    def from_json(self, i: int, item):
        """`zoo serve`'s JSON (the contract's hook): an image file as bytes (sent as {"b64":
        ...}) or a data:image/...;base64, URI (read as predict() reads it); never a file name."""
        if isinstance(item, str) and not item.startswith("data:"):
            from zoo.webio import no_file_names

            raise no_file_names(i, "an image", " or a data:image/...;base64, URI")
        return item

    def web_view(self, predict, inputs: list, options: dict, folder: Path) -> dict:
        """The web page's view (the contract's hook): the captions and their attention
        maps over the input images."""
        results = predict(inputs, **options)
        return {"predictions": results,
                "picture": Path(self.plot(results, Path(folder) / "picture.png", images=inputs))}

    @staticmethod
    def agreement(a: list[dict], b: list[dict]) -> float:
        """Fraction of word positions two captions share (export parity)."""
        same = total = 0
        for ra, rb in zip(a, b):
            wa, wb = ra["words"], rb["words"]
            total += max(len(wa), len(wb), 1)
            same += sum(x == y for x, y in zip(wa, wb)) + (not wa and not wb)
        return same / max(total, 1)


def demo(model, folder: Path, data: Path | None = None):
    """`zoo demo` (the contract's optional hook): three validation images of the dataset
    under $ZOO_DATA with their reference captions, else the images the bundle keeps for
    export checks; each image is written to `folder`, and the attention maps of the
    captions word by word to one PNG."""
    from zoo.data import dataset_name

    name = model.entry.name
    if data is not None:
        valid = model.entry.module("data").read_split(data, "valid")
        picked = valid[::max(1, len(valid) // 3)][:3]
        items = [(e["image"], dataset_name(e["image"]), e.get("captions")) for e in picked]
    else:
        items = [(uri, f"example {i} kept in the bundle (an image of its validation split; no "
                       f"reference without $ZOO_DATA)", None)
                 for i, uri in enumerate(model.parity_examples()[:3])]
    images = [open_image(x, "demo image") for x, _, _ in items]
    results = model.predict(images)
    for i, ((_, shown, refs), img, r) in enumerate(zip(items, images, results)):
        path = folder / f"{name}-input-{i}.png"
        img.save(path)
        example = {"in": f"{shown} ({img.size[0]}x{img.size[1]}; as seen: {path})"}
        if refs:
            example["ref"] = " | ".join(refs[:3])
        example["out"] = Host.describe(r)
        yield example
    if results:
        png = model.host().plot(results, folder / f"{name}-attention.png", images=images)
        yield {"picture": f"{png}  (where the model looks for each word; bright = attended)"}
