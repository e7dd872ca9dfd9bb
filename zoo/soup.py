"""Model soups: bundles fine-tuned from one model, averaged weight by weight into one
bundle of the same size and speed (Wortsman et al. 2022, "Model soups: averaging weights
of multiple fine-tuned models improves accuracy without increasing inference time").

    python -m zoo.soup OUT BUNDLE BUNDLE [BUNDLE ...]

The bundles must be one registered model with the same weight shapes, fine-tuned from one
starting point (averaging unrelated models gives nonsense). The first gives the soup its
preprocessor, hyper-parameters and recipe; the others' preprocessors may differ from it
only in single settings (numbers, strings), not in vocabularies, label lists or
statistics. The soup is not measured here: measure and choose it on a selection split
like any candidate (the summarize-attn bundle does, in general.py).

>>> import numpy as np
>>> [w.tolist() for w in average_weights([[np.ones(2)], [np.zeros(2)]])]
[[0.5, 0.5]]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .errors import InputError, ZooError, describe_os_error


def average_weights(weight_lists: list[list]) -> list:
    """The element-wise mean of several models' weight lists (each a Keras
    `get_weights()`), in the first's dtypes."""
    shapes = [[np.shape(w) for w in ws] for ws in weight_lists]
    for n, s in enumerate(shapes[1:], 1):
        if s != shapes[0]:
            raise InputError(f"model {n} has other weight shapes than model 0; expected models "
                             f"of one architecture fine-tuned from one starting point")
    return [np.mean([ws[i] for ws in weight_lists], axis=0).astype(np.asarray(w).dtype)
            for i, w in enumerate(weight_lists[0])]


def check_preprocessors(first: dict, other: dict, name: str) -> None:
    """Refuse `other` (bundle `name`) where a list or dict of its preprocessor differs from
    `first`'s: the weights read ids and statistics through them, so averaging is only
    meaningful where they are the same."""
    for key in first.keys() | other.keys():
        a, b = first.get(key), other.get(key)
        if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
            if a != b:
                raise InputError(f"{name}: its preprocessor's `{key}` differs from the first "
                                 f"bundle's; expected bundles fine-tuned from one model with "
                                 f"the same vocabulary, labels and statistics")


def soup(bundles: list, out: str | Path):
    """Average the weights of `bundles` (names or paths, as zoo.load takes them) into a new
    bundle at `out`, and return it (a ZooModel)."""
    from . import load
    from .bundle import check_not_shipped, check_own_folder, resolve
    from .options import user_path

    out = user_path(out)
    if len(bundles) < 2:
        raise InputError(f"a soup needs at least two bundles; got {len(bundles)}")
    # A bundle named twice would weigh twice in a soup recorded as "uniform".
    folders = [resolve(b).resolve() for b in bundles]
    twice = sorted({str(b) for b, f in zip(bundles, folders) if folders.count(f) > 1})
    if twice:
        raise InputError(f"{', '.join(twice)}: the same bundle named more than once; expected "
                         f"each bundle once (the soup averages them with equal weights)")
    if Path(out).exists() and not Path(out).is_dir():
        raise InputError(f"{out}: a file, not a folder; expected OUT to name a folder for the "
                         f"soup's bundle")
    check_not_shipped(out, "OUT")
    check_own_folder(out, "OUT")        # it replaces OUT whole: a folder of files went with it
    models = [load(b) for b in bundles]
    check_members(models, bundles)
    return write_soup(models, bundles, out, f"python -m zoo.soup {out} {' '.join(map(str, bundles))}")


def check_members(models: list, bundles: list) -> None:
    """Refuse members (loaded `bundles`) of another model than the first, or whose
    preprocessors differ from its in what the weights read (check_preprocessors)."""
    first = models[0]
    for b, m in zip(bundles[1:], models[1:]):
        if m.entry.name != first.entry.name:
            raise InputError(f"{b}: a {m.entry.name} bundle; expected {first.entry.name} like "
                             f"the first")
        check_preprocessors(first.preprocessor, m.preprocessor, str(b))


def write_soup(models: list, bundles: list, out: str | Path, command: str, **record):
    """The uniform average of `models`' weights (the loaded `bundles`) saved at `out` with
    the first's preprocessor, hyper-parameters and recipe, every member's recipe stages and
    `command`; `record` goes beside the members in metrics.json's "soup". Returns the soup
    (the first model, its weights replaced)."""
    from .bundle import replacing

    first = models[0]
    first.keras_model.set_weights(average_weights([m.keras_model.get_weights() for m in models]))
    # The first's measurements are not the soup's: keep what describes its training data.
    first.metrics = {k: v for k, v in first.metrics.items()
                     if k in ("model", "hparams", "paper", "fine_tuned_on", "labels")}
    first.metrics["soup"] = {"bundles": [str(b) for b in bundles], "weights": "uniform", **record}
    lines = []
    for m in models:                      # every member's recipe, each stage once
        lines += [s for s in m.metrics.get("command", "").splitlines() if s and s not in lines]
    # written whole beside OUT, then moved into place: a disk that filled up mid-write left
    # half a soup over the earlier one (refused as "changed or corrupted"), or no manifest
    with replacing(out, "soup's bundle") as staging:
        first.save(staging, command="\n".join([*lines, command]))
    return first


def main(argv=None) -> int:
    """`python -m zoo.soup OUT BUNDLE BUNDLE ...`; argparse, so --help prints the usage
    (it was taken for OUT's name and exited 1) and a wrong call is one line."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m zoo.soup", description=__doc__.split("\n\n")[0])
    ap.add_argument("out", metavar="OUT", help="folder for the soup's bundle")
    ap.add_argument("bundles", metavar="BUNDLE", nargs="+",
                    help="two or more bundles of one model, fine-tuned from one starting point")
    args = ap.parse_args(argv)
    try:
        print(f"wrote {soup(args.bundles, args.out).entry.name} soup to {args.out}")
    except KeyboardInterrupt:       # (and SIGTERM: zoo.errors.script) was a traceback
        raise KeyboardInterrupt(f"{args.out} is as it was (the soup is moved there only once "
                                f"written whole)") from None
    except ZooError as e:           # unknown or tampered bundle, what cannot be averaged
        sys.exit(f"error: {e}")
    except OSError as e:            # OUT cannot be written (permissions, a full disk)
        sys.exit(f"error: {describe_os_error(e)}")
    return 0


if __name__ == "__main__":
    from .errors import script

    sys.exit(script(main, "zoo.soup"))
