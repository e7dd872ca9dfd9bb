"""Readers of captioned images, by what the path is:
- a folder or `captions.tsv` in the emoji layout (header `image split caption keywords`),
- a Flickr8k token file (`Flickr8k.token.txt`: `image.jpg#0<TAB>caption`), images in an
  `images/`, `Flicker8k_Dataset/` or `Flickr8k_Dataset/` folder beside it (or beside it),
- a COCO captions JSON (`{"images": [{"id", "file_name"}], "annotations": [{"image_id",
  "caption"}]}`), images beside it, in `images/`, or in a folder named like the JSON's
  split (`captions_val2014.json` -> `val2014/`),
- a CSV with columns `image,caption` (more columns are ignored; a `split` column, or one
  whose name ends in `_split`, selects a split).
A folder is searched for these in that order. An example is one image with all its
reference captions: {"image": absolute path, "captions": [str, ...]} (+ "keywords" for
the emoji corpus).

>>> import tempfile, os
>>> from pathlib import Path
>>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.png"), "wb")
>>> _ = open(os.path.join(d, "caps.csv"), "w").write("image,caption\\na.png,A dog .\\na.png,a cat\\n")
>>> [(os.path.basename(e["image"]), e["captions"]) for e in read_captions(Path(d) / "caps.csv", None)]
[('a.png', ['A dog .', 'a cat'])]
"""
from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from pathlib import Path

from zoo.data import read_text
from zoo.errors import DataFormatError

EMOJI_FILE = "captions.tsv"
IMAGE_FOLDERS = ("images", "Flicker8k_Dataset", "Flickr8k_Dataset", "Images")
SPLIT_NAMES = {"train": ("train",), "valid": ("valid", "val", "dev"), "test": ("test",)}


def read_captions(path: Path, split: str | None) -> list[dict]:
    """The examples of a captions file or folder `path` (an existing path), all of
    them (`split` None) or one split's (train, valid, test)."""
    file = _find_file(path, split) if path.is_dir() else path
    if file.name.endswith(".tsv"):
        out = _read_table(file, "\t", split)
    elif file.suffix == ".json":
        out = _read_coco(file, split if path.is_dir() else None)
    elif file.suffix == ".csv":
        out = _read_table(file, ",", split)
    elif file.suffix == ".txt":
        out = _read_flickr(file, split)
    else:
        raise DataFormatError(f"{file}: unknown captions format; expected captions.tsv (emoji "
                              f"layout), a Flickr8k .token.txt, a COCO captions .json or a .csv")
    if not out:
        raise DataFormatError(f"{file}: no captioned images" + (f" in split {split!r}" if split else "")
                              + "; expected at least one image with a caption")
    return out


def _find_file(folder: Path, split: str | None) -> Path:
    if (folder / EMOJI_FILE).exists():
        return folder / EMOJI_FILE
    tokens = sorted(folder.glob("*token*.txt"))
    if tokens:
        # Flickr8k ships Flickr8k.token.txt (5 captions) and Flickr8k.lemma.token.txt.
        return next((t for t in tokens if "lemma" not in t.name), tokens[0])
    jsons = sorted(folder.glob("*.json")) + sorted(folder.glob("annotations/*.json"))
    jsons = [j for j in jsons if "caption" in j.name] or jsons
    if jsons:
        if split:
            names = SPLIT_NAMES[split]
            match = [j for j in jsons if any(n in j.stem.lower() for n in names)]
            if not match:
                raise DataFormatError(f"{folder}: no COCO captions file for split {split!r} "
                                      f"among {[j.name for j in jsons]}; expected a name "
                                      f"holding one of {list(names)}")
            return match[0]
        return jsons[0]
    csvs = sorted(folder.glob("*.csv"))
    if csvs:
        return csvs[0]
    raise DataFormatError(f"{folder}: no captions file found; expected {EMOJI_FILE} (emoji "
                          f"layout), a Flickr8k *token*.txt, a COCO captions *.json or a *.csv "
                          f"with columns image,caption")


def _image_path(base: Path, name: str, where: str, extra: tuple = ()) -> Path:
    """`name` relative to the captions file's folder, or one of the usual image folders."""
    for root in (base, *(base / f for f in (*extra, *IMAGE_FOLDERS))):
        p = root / name
        if p.is_file():
            return p
    there = next((r / name for r in (base, *(base / f for f in (*extra, *IMAGE_FOLDERS)))
                  if os.path.lexists(r / name)), None)
    if there is not None:       # was "not found" for a folder, a pipe or a looping link
        raise DataFormatError(f"{where}: {there} is not a readable file (a folder, a pipe or "
                              f"a broken or looping link); expected an image file")
    raise DataFormatError(f"{where}: image {name!r} not found beside the captions file or in "
                          f"{', '.join(f + '/' for f in (*extra, *IMAGE_FOLDERS))} under {base}")


def _group(rows: list[tuple]) -> list[dict]:
    """(image path, caption, extra dict) rows -> one example per image, captions in order."""
    caps, extra = defaultdict(list), {}
    for image, caption, more in rows:
        caps[image].append(caption)
        extra.setdefault(image, more)
    return [{"image": str(img), "captions": c, **extra[img]} for img, c in caps.items()]


def _split_of(value: str) -> str | None:
    value = value.strip().lower()
    return next((s for s, names in SPLIT_NAMES.items() if value in names), None)


def _read_table(path: Path, delimiter: str, split: str | None) -> list[dict]:
    """Emoji captions.tsv (image, split, caption, keywords) or a CSV (image, caption, ...)."""
    lines = read_text(path, "a UTF-8 captions table").splitlines()
    reader = csv.reader(lines, delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    if "image" not in header or "caption" not in header:
        raise DataFormatError(f"{path}:1: expected a header with columns 'image' and 'caption' "
                              f"(separated by {delimiter!r}); got {header}")
    col = {h: i for i, h in enumerate(header)}
    split_col = next((h for h in header if h == "split" or h.endswith("_split")), None)
    if split and split_col is None:
        raise DataFormatError(f"{path}: no split column ('split' or '*_split') to select "
                              f"split {split!r}; pass the file itself to read all of it")
    rows, known = [], {}
    for n, cells in enumerate(reader, start=2):
        if not cells or not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            raise DataFormatError(f"{path}:{n}: expected {len(header)} columns "
                                  f"({', '.join(header)}); got {len(cells)}")
        if split_col:
            # An empty split cell: the image is in no split (read() keeps it, read_split not).
            s = _split_of(cells[col[split_col]]) if cells[col[split_col]].strip() else ""
            if s is None:
                raise DataFormatError(f"{path}:{n}: unknown split {cells[col[split_col]]!r}; "
                                      f"expected one of train, valid/val/dev, test")
            if split and s != split:
                continue
        caption = cells[col["caption"]].strip()
        if not caption:
            raise DataFormatError(f"{path}:{n}: empty caption; expected the image's caption "
                                  f"(drop the row if it has none)")
        name = cells[col["image"]].strip()
        if name not in known:
            known[name] = _image_path(path.parent, name, f"{path}:{n}")
        more = {}
        if "keywords" in col:
            more["keywords"] = [k for k in cells[col["keywords"]].split("|") if k]
        rows.append((known[name], caption, more))
    return _group(rows)


def _read_flickr(path: Path, split: str | None) -> list[dict]:
    """Flickr8k token format: `1000268201_693b08cb0e.jpg#0<TAB>A child in a pink dress ...`."""
    keep = None
    if split:
        lists = {"train": "trainImages", "valid": "devImages", "test": "testImages"}
        found = sorted(path.parent.glob(f"*{lists[split]}.txt"))
        if not found:
            raise DataFormatError(f"{path.parent}: no Flickr8k split list *{lists[split]}.txt "
                                  f"for split {split!r}; expected it beside {path.name}, or "
                                  f"no split to read the whole file")
        listed = found[0].read_text(encoding="utf-8-sig").splitlines()
        keep = {ln.strip() for ln in listed if ln.strip()}
    rows, images = [], {}
    lines = read_text(path, "a UTF-8 Flickr8k token file").splitlines()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        key, sep, caption = line.partition("\t")
        name, hash_, idx = key.partition("#")
        if not sep or not hash_ or not idx.strip().isdigit() or not caption.strip():
            raise DataFormatError(f"{path}:{n}: expected 'IMAGE.jpg#N<TAB>caption' (Flickr8k "
                                  f"token format); got {line!r:.80}")
        if keep is not None and name not in keep:
            continue
        if name not in images:
            images[name] = _image_path(path.parent, name, f"{path}:{n}")
        rows.append((images[name], caption.strip(), {}))
    return _group(rows)


def _read_coco(path: Path, split: str | None) -> list[dict]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(f"{path}: not a JSON file ({e}); expected COCO captions JSON "
                              f"(UTF-8)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("annotations"), list):
        raise DataFormatError(f"{path}: expected COCO captions JSON with 'images' [{{id, "
                              f"file_name}}] and 'annotations' [{{image_id, caption}}] lists")
    # COCO keeps images in a folder named like the split: captions_val2014.json -> val2014/
    extra = tuple({path.stem.split("_")[-1], path.stem.replace("captions_", "")})
    base = path.parent.parent if path.parent.name == "annotations" else path.parent
    files = {}
    for i, im in enumerate(doc["images"]):
        if not isinstance(im, dict) or "id" not in im or "file_name" not in im:
            raise DataFormatError(f"{path}: images[{i}] needs 'id' and 'file_name'; got {im!r:.80}")
        files[im["id"]] = im["file_name"]
    rows, paths = [], {}
    for i, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or "image_id" not in ann or not str(ann.get("caption", "")).strip():
            raise DataFormatError(f"{path}: annotations[{i}] needs 'image_id' and a non-empty "
                                  f"'caption'; got {ann!r:.80}")
        if ann["image_id"] not in files:
            raise DataFormatError(f"{path}: annotations[{i}] refers to image_id "
                                  f"{ann['image_id']!r}, which is not in 'images'; expected the id "
                                  f"of one of its images")
        name = files[ann["image_id"]]
        if name not in paths:
            paths[name] = _image_path(base, name, f"{path}: annotations[{i}]", extra)
        rows.append((paths[name], ann["caption"].strip(), {}))
    return _group(rows)
