"""Bundle files on disk: manifest (sha256 + versions), checks on load, the model card.

A bundle is a directory with model.keras, preprocessor.json, metrics.json, card.md and
manifest.json (DESIGN.md, "Bundle"). This module knows the files, not the model.

>>> from zoo.bundle import resolve
>>> resolve("ner-bilstm").name
'ner-bilstm'
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import time
import zipfile
from importlib.metadata import PackageNotFoundError, version as _version
from pathlib import Path

from . import registry
from .errors import BundleError, InputError, UnknownModelError, warn
from .options import WINDOWS_PATH, check_buckets, user_path, windows_path

FORMAT_VERSION = 1
REQUIRED = ("model.keras", "preprocessor.json", "metrics.json", "card.md")
MAX_MANIFEST_BYTES = 1 << 20


def open_regular(path: Path):
    """`path` opened for reading, if it is a regular file. A manifest is data from the
    bundle's author: a name that is a symlink (O_NOFOLLOW), a device such as /dev/zero or
    a FIFO (O_NONBLOCK: opening it cannot block; fstat refuses it) would read outside the
    bundle or never end. FileNotFoundError passes through."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as e:            # ELOOP: a symlink; EISDIR ...
        raise BundleError(f"{path}: not a regular file ({e.strerror}); expected a plain "
                          f"file, not a symlink, folder or device") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode) or Path(path).is_symlink():
        os.close(fd)
        raise BundleError(f"{path}: not a regular file; expected a plain file, not a "
                          f"symlink, folder or device")
    return os.fdopen(fd, "rb")


def sha256(path: Path) -> str:
    with open_regular(path) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def plain_name(name) -> bool:
    """A file name inside the bundle folder: no folders, '..', drive or absolute path."""
    return (isinstance(name, str) and name not in ("", ".", "..")
            and not any(c in name for c in "/\\:\x00"))


def not_a_bundle(path) -> BundleError:
    return BundleError(f"{path}: not a bundle directory (expected a folder with "
                       f"{', '.join(REQUIRED)} and manifest.json)" + unfinished(path)
                       + upper_case_export(path) + zipped(path) + keras_file(path))


def zipped(path) -> str:
    """A hint for a bundle sent as a .zip (a mail attachment, a cloud drive's download)."""
    try:
        is_zip = Path(path).is_file() and zipfile.is_zipfile(path) and not keras_file(path)
    except OSError:
        is_zip = False
    return ("; it is a zip archive: unzip it and give the bundle folder inside (zoo pull "
            "takes a .tar.gz)") if is_zip else ""


def keras_file(path) -> str:
    """A hint for a Keras model file (`m.keras_model.save("x.keras")`, a zip, or ".h5"):
    "it is a zip archive: unzip it and give the bundle folder inside" sent its user looking
    for a folder it does not hold."""
    try:
        if not Path(path).is_file():
            return ""
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                found = {"config.json", "metadata.json"} <= set(zf.namelist())
            hdf5 = False
        else:
            with open(path, "rb") as f:
                found = hdf5 = f.read(8) == b"\x89HDF\r\n\x1a\n"        # Keras 2's .h5
    except (OSError, zipfile.BadZipFile):
        return ""
    if hdf5:        # Keras writes it, but "Unknown layer: 'Greater'" on reading it back
        return ("; it is a legacy HDF5 Keras file, which cannot rebuild the zoo's networks "
                "(their TensorFlow op layers): save m.keras_model.save(\"x.keras\") or a "
                "bundle, m.save(DIR)")
    return ("; it is a Keras model file, the network alone (no preprocessor or card): put "
            "it in a model of its kind with m = zoo.load(NAME); m.keras_model = "
            "keras.saving.load_model(FILE), and m.save(DIR) writes a bundle") if found else ""


def upper_case_export(path) -> str:
    """A hint for "model.TFLITE": exports are known by a lower-case .tflite / .onnx."""
    suffix = Path(str(path)).suffix
    return (f"; an export is named with a lower-case {suffix.lower()}"
            if suffix.lower() in (".tflite", ".onnx") and suffix != suffix.lower() else "")


def unfinished(path) -> str:
    """A hint for a folder where `zoo train` / `zoo fine-tune --out` was stopped before the
    bundle was written (its checkpoints are in train/): the same command finishes it."""
    try:
        started = (Path(path) / "train" / "train_state.json").is_file()
    except OSError:
        started = False
    return ("; it holds a training run that did not finish: re-run the zoo train / "
            "fine-tune command that wrote it to resume and write the bundle") if started else ""


def resolve(name_or_path: str | Path) -> Path:
    """A bundle directory for a registered name (a bundle `zoo pull` stored for it, else the
    shipped weights), a preset's name (registry.preset), a path, or an http(s) URL of a
    bundle .tar.gz (downloaded once into the cache, zoo.hub); errors name what is missing."""
    from . import hub
    from .runtime import sidecar_path

    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path).strip():
        raise UnknownModelError(f"expected a registered model name or a bundle directory; got "
                                f"{name_or_path!r} ({type(name_or_path).__name__})")
    if hub.is_url(name_or_path):
        return hub.fetch(name_or_path)
    name_or_path = user_path(name_or_path)
    path = Path(name_or_path)
    # A registered name is the zoo's model wherever it is run: a file or folder of that name
    # in the current folder (a training run's --out, a download) shadowed it, and a bundle of
    # another model there answered in its place without a word. ./NAME loads the folder.
    text = str(name_or_path)
    registered = isinstance(name_or_path, str) and (text in registry.names()
                                                    or registry.preset(text) is not None)
    if registered and path.exists():
        warn(f"{text} is a registered model and loads as such; the "
             f"{'folder' if path.is_dir() else 'file'} {text} in the current folder "
             f"is not read (load it as ./{text})")
    if path.is_dir() and not registered:
        return path
    # an export was called "not a bundle directory", with no word of what opens it (a
    # multi-function ONNX export has no NAME.onnx itself, only its sidecar and a file a function)
    if path.suffix in (".tflite", ".onnx") and (path.is_file() or sidecar_path(path).is_file()):
        raise BundleError(f"{name_or_path}: an exported model, not a bundle directory; run it "
                          f"with zoo.runtime.load({str(name_or_path)!r}), or zoo serve / zoo "
                          f"batch-predict FILE")
    if windows_path(text):
        raise BundleError(f"{text}: {WINDOWS_PATH}; expected / between folders: "
                          f"{windows_path(text)}")
    if not path.exists() and (path.suffix or "/" in text):
        # a typo'd folder was "not a bundle directory (expected a folder with ...)"
        named = registry.same_name(path.name)
        hint = (f"; {named} is a registered model: give its name alone, without a path"
                if named else "; only http(s) URLs are fetched" if "://" in str(name_or_path)
                else "")
        raise BundleError(f"{name_or_path}: no such folder; expected a bundle directory{hint}")
    if path.name.endswith((".tar.gz", ".tgz")) and path.is_file():
        # zoo.load takes an archive by URL only; a local one is pulled (or unpacked)
        raise BundleError(f"{name_or_path}: a bundle archive, not a bundle directory; unpack "
                          f"it, or store it as a model's weights: zoo pull NAME --from "
                          f"{name_or_path}")
    if (path.suffix or "/" in str(name_or_path) or path.exists()) and not registered:
        raise not_a_bundle(name_or_path)
    owner = registry.preset(str(name_or_path))
    if owner:
        return owner.preset_path(str(name_or_path))
    entry = registry.get(str(name_or_path))
    pulled = hub.pulled(entry.name)
    if pulled:
        try:        # the load checks it again; here a failure says how to get unstuck
            check(pulled)
        except BundleError as e:
            raise BundleError(f"{e} (the bundle zoo pull stored for {entry.name}: pull it "
                              f"again, or delete {pulled} for the shipped weights)") from None
        return pulled
    if not entry.shipped:
        # (an application of the user's own package has no bundle folder: "at None")
        at = f" at {entry.bundle_path}" if entry.bundle_path else ""
        raise BundleError(f"{entry.name} has no shipped weights{at}; train "
                          f"them with `zoo train {entry.name} --out DIR` or fetch a bundle "
                          f"with `zoo pull {entry.name} --from URL|DIR`")
    return entry.bundle_path


def check_not_shipped(out, what: str = "--out (out=)") -> None:
    """Refuse to write into a shipped bundle (or the folder that holds them): `zoo.load(NAME)`
    returns whatever is there, so a three-sentence fine-tune written into it silently
    replaced the pretrained model. Shipped bundles are trained into runs/ and copied in."""
    target = Path(out).resolve()
    for name in registry.names():
        entry = registry.get(name)
        shipped = {name: entry.bundle_path} if entry.bundle_path else {}
        shipped.update({p: entry.preset_path(p) for p in entry.presets})
        for bundle_name, path in shipped.items():
            path = path.resolve()
            if target == path or path in target.parents or target == path.parent:
                parent = target == path.parent
                where = ("is the folder of the shipped bundles" if parent else
                         f"is inside the shipped bundle of {bundle_name} (what "
                         f"zoo.load({bundle_name!r}) returns)")
                raise InputError(f"{out}: {where}; expected {what} to name a folder of your "
                                 f"own, e.g. runs/{'my-model' if parent else name}")


def check_own_folder(out, what: str = "--out (out=)") -> None:
    """Refuse to write a bundle into an existing folder of other files (`--out .` in a
    project, `m.save("~/Documents")`): the bundle's files went in beside them, over a
    metrics.json or card.md of the user's, and its manifest listed (pinned) every one of
    them. A bundle (its manifest), a run to resume (train/) or an empty folder is written."""
    folder = Path(out)
    try:
        if not folder.is_dir() or (folder / "manifest.json").exists() \
                or (folder / "train").is_dir():
            return
        others = sorted(name for name in os.listdir(folder) if not _bundle_made(name))
    except OSError:                 # unreadable: the write itself names what is wrong
        return
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if others[3:] else "")
        raise InputError(f"{out}: a folder of other files ({shown}), not a bundle; expected "
                         f"{what} to name a new or empty folder, or a bundle to replace")


def _bundle_made(name: str) -> bool:
    """A name the zoo writes into a bundle folder (its files, pictures, a run's folders,
    hidden staging files)."""
    return (name in (*REQUIRED, "manifest.json", "train", "export-check")
            or name.endswith(".png") or name.startswith(".")
            or re.fullmatch(r"seed-\d+", name) is not None)


@contextlib.contextmanager
def writing(path: Path, lock: Path, option: str = "--out"):
    """Hold `lock` (a file, made if missing) while this process writes `path`: a second
    process writing the same `path` at once is refused in one line. Two `zoo train` into
    one --out interleaved their checkpoints, and two `zoo export` to one file left a model
    whose sidecar records the other's sha256, with exit status 0. A POSIX flock: the
    system releases it when the process ends (even by kill -9), so no stale lock is left to
    clear. The lock file is removed while still held, once the write is done (one was left
    in the temp folder for every export ever written: thousands); a writer that opened it
    before it went finds, once it holds it, that the path is gone or another file, and
    opens it again. Where fcntl is missing (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    # the folders made for the lock go again if nothing was written in them (a run refused
    # before its first step left an empty OUT/train/ behind)
    made = [p for p in (lock.parent, *lock.parent.parents) if not p.exists()]
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # a few tries: sweep_locks may hold a dead writer's lock for an instant
            _flock_soon(fd, fcntl)
        except OSError:
            pid = os.pread(fd, 20, 0).decode("ascii", "replace").strip() or "another"
            os.close(fd)
            raise InputError(f"{path} is being written by process {pid}; wait for it to "
                             f"finish or choose another {option}") from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break               # the file the path names: ours
        except FileNotFoundError:
            pass                    # removed by the writer before us: open it again
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):      # a folder removed meanwhile: nothing to do
            os.unlink(lock)
        os.close(fd)
        for folder in made:                     # deepest first; one with files stays
            with contextlib.suppress(OSError):
                folder.rmdir()


# errors only a write raises: the disk, not the file being read
WRITE_ERRORS = {errno.ENOSPC: "no space left on the disk", errno.EFBIG: "a file grew past "
                "the file size limit (ulimit -f) or the disk filled up", errno.EDQUOT:
                "the disk quota is used up", errno.EROFS: "a read-only file system"}


@contextlib.contextmanager
def replacing(out, what: str = "bundle", keep: bool = False):
    """A staging folder beside `out` to write a whole bundle into; on success it takes
    `out`'s place (the earlier bundle goes only once the new one is there), on any failure
    it is removed and `out` is as it was. A disk that filled up mid-write left half a bundle
    over the earlier one (a model.keras cut short beside the old manifest: "changed or
    corrupted"), or a folder with no manifest. A full disk or quota is one line naming
    `out` and the file, saying the earlier bundle is intact. With `keep`, what else `out`
    holds stays with it (kept()): a run's train/ checkpoints, its pictures."""
    # absolute: "." has no name to put a sibling beside; a link to a folder: its folder
    out = Path(os.path.realpath(out) if os.path.islink(out) else os.path.abspath(out))
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    clear_dead_staging(out)
    try:
        staging.mkdir(parents=True)
        if keep:
            copy_files(out, staging)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise write_error(e, out, what, out) from None
    try:
        yield staging
        moved = move_folders(out, staging) if keep else []
        inside = here_is(out)
        try:
            swap_in(staging, out)
        except BaseException:       # the folders go back before the staging folder goes
            move_back(moved, staging, out)
            raise
        if inside:                  # m.save("."): not left in the earlier, deleted folder
            os.chdir(out)
    except OSError as e:
        raise write_error(e, out, what, staging) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def here_is(folder: Path) -> bool:
    """Whether the current folder is `folder`."""
    try:
        return os.path.samefile(os.getcwd(), folder)
    except OSError:
        return False


def kept(out: Path) -> list:
    """What a bundle written over the one at `out` keeps from it: every entry but the files
    ZooModel.save writes and write_whole's leftovers. Before, the bundle was written into
    `out` in place, and the rest simply stayed (zoo train's train/ checkpoints, which
    resume; its training_curve.png, which the card shows and the manifest lists)."""
    try:
        entries = list(out.iterdir()) if out.is_dir() and not out.is_symlink() else []
    except OSError:
        return []
    return [p for p in entries if p.name not in (*REQUIRED, "manifest.json")
            and not (p.name.startswith(".") and ".tmp-" in p.name)]


def copy_files(out: Path, staging: Path) -> None:
    """The plain files `out` keeps, copied into `staging` (the earlier bundle, which lists
    them, stays whole for a reader until the swap)."""
    for p in kept(out):
        if p.is_file() and not p.is_symlink():
            shutil.copy2(p, staging / p.name)


def move_folders(out: Path, staging: Path) -> list:
    """The folders (and links) `out` keeps, renamed into `staging` just before the swap:
    no reader of a bundle reads them, and a rename keeps a checkpoint of gigabytes whole
    and a writer's lock file inside it held. The names moved; on any failure, or Ctrl-C
    half-way, each goes back first."""
    moved = []
    try:
        for p in kept(out):
            if (p.is_dir() or p.is_symlink()) and not (staging / p.name).exists():
                os.rename(p, staging / p.name)
                moved.append(p.name)
    except BaseException:
        move_back(moved, staging, out)
        raise
    return moved


def move_back(names: list, staging: Path, out: Path) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            os.rename(staging / name, out / name)


def clear_dead_staging(out: Path) -> None:
    """Remove the staging folders beside `out` of writers that were killed (SIGKILL, a
    power cut: `replacing` had no chance to): each held a whole bundle, hidden, for good.
    A folder's name holds its writer's process id; one still running is left alone."""
    import glob

    for left in out.parent.glob(f".{glob.escape(out.name)}.tmp-*-*"):
        pid = left.name.rsplit(".tmp-", 1)[1].split("-")[0]
        if pid.isdigit() and not pid_alive(int(pid)) and left.is_dir() and not left.is_symlink():
            # killed between move_folders and the swap: its folders (train/'s checkpoints)
            # were `out`'s, and go back there first
            with contextlib.suppress(OSError):
                move_back([p.name for p in left.iterdir() if p.is_dir() or p.is_symlink()],
                          left, out)
            shutil.rmtree(left, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    if os.name != "posix":      # Windows: os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:             # another user's process (EPERM): alive
        pass
    return True


def swap_in(staging: Path, path: Path) -> None:
    """Move a finished file or folder (an export, a bundle) into `path`'s place; what was
    there goes only once it has, and comes back if the move fails."""
    old = None
    if path.exists() or path.is_symlink():
        old = path.with_name(f".{path.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(path, old)
    try:
        os.rename(staging, path)
    except OSError:
        if old is not None:
            os.rename(old, path)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()


def write_error(e: OSError, out: Path, what: str, staging: Path):
    """A failed write of the bundle at `out`: a BundleError naming the file (the staging
    folder's name replaced by `out`'s) for a full disk, else `e` with that file name."""
    name = str(e.filename or "").replace(str(staging), str(out)) or str(out)
    earlier = (f"; the earlier {what} at {out} is unchanged" if out.is_dir() else
               f"; nothing was left at {out}")
    if e.errno in WRITE_ERRORS:
        return BundleError(f"{name}: cannot write the {what}: {WRITE_ERRORS[e.errno]}"
                           f"{earlier}; free some space or choose another folder")
    return OSError(e.errno, e.strerror or str(e), name)


def _flock_soon(fd: int, fcntl, tries: int = 5) -> None:
    for i in range(tries):
        try:
            return fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if i == tries - 1:
                raise
            time.sleep(0.02)


LOCK_NAME = re.compile(r"zoo-[a-z-]+-[0-9a-f]{16}\.lock")
STALE_LOCK_S = 3600         # a lock file this old whose writer is gone is swept
_swept = False


def sweep_locks(folder: Path, most: int = 100) -> int:
    """Remove the lock files in `folder` (the temp folder) that writers killed by SIGKILL
    left (each write removes its own; a killed one's stayed for good: 1,940 zoo-export-*.lock
    were found in one /tmp). Only a file an hour old, whose writer's pid is gone and whose
    lock is free: a live writer holds its flock, so it is never taken from one; a new
    writer that opens the file meanwhile finds it gone and opens another (writing()), or
    waits out the instant it is held here (_flock_soon). At most `most` a call (removing
    2,000 took 12 s on an overlay file system). The number removed."""
    try:
        import fcntl
    except ImportError:
        return 0
    removed, now = 0, time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if removed >= most:
                break
            if not LOCK_NAME.fullmatch(entry.name):
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < STALE_LOCK_S \
                        or not entry.is_file(follow_symlinks=False):
                    continue
                fd = os.open(entry.path, os.O_RDWR | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                pid = os.pread(fd, 20, 0).decode("ascii", "replace").strip()
                if pid.isdigit() and _alive(int(pid)):
                    continue
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)    # OSError: held, kept
                if os.stat(entry.path).st_ino == os.fstat(fd).st_ino:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                pass
            finally:
                os.close(fd)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:         # another user's process: alive
        return True
    return True


def lock_file(path, kind: str) -> Path:
    """The lock file for writing `path` where no folder of ours holds one (an export's
    file, batch-predict's --output): in the temp folder, named by the absolute path, so
    nothing is left beside the user's files, even when the second writer is refused.
    Once a process, the locks killed writers left there are swept (sweep_locks)."""
    import tempfile

    global _swept
    folder = Path(tempfile.gettempdir())
    if not _swept:
        _swept = True
        sweep_locks(folder)
    key = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16]
    return folder / f"zoo-{kind}-{key}.lock"


WRITERS = ("rnn-zoo", "keras", "tensorflow")     # what a bundle records as having written it


def versions(*packages: str) -> dict:
    """{package: installed version, or None} (a source checkout without `pip install -e`
    has no rnn-zoo version): what manifests, cards and export sidecars record.

    >>> sorted(versions("numpy", "no-such-package-x"))
    ['no-such-package-x', 'numpy']
    """
    found = {}
    for pkg in packages:
        try:
            found[pkg] = _version(pkg)
        except PackageNotFoundError:
            found[pkg] = None
    return found


def write_manifest(directory: Path, name: str) -> dict:
    """Record the sha256 of every file and the versions that wrote the bundle."""
    directory = Path(directory)
    files = {p.name: sha256(p) for p in sorted(directory.iterdir())
             if p.is_file() and not p.is_symlink() and p.name != "manifest.json"
             and not (p.name.startswith(".") and ".tmp-" in p.name)}   # write_whole's, killed
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": name,
        "files": files,
        "versions": versions(*WRITERS),
    }
    write_whole(directory / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def json_lines(obj, indent: str = "") -> str:
    """`obj` as JSON with one key of each object to a line, lists and scalars compact, and
    no trailing newline: a preprocessor.json (or an export's sidecar) was one line of up to
    4 MB, so `git diff` of two bundles showed the whole file changed for one hyper-parameter
    (indent=1 put every number of a speech model's tables on a line: twice the size).

    >>> print(json_lines({"model": "m", "preprocessor": {"vocab": ["a", "b"], "n": 2}}))
    {
     "model": "m",
     "preprocessor": {
      "vocab": ["a", "b"],
      "n": 2
     }
    }
    """
    if not indent:      # JSON's own keys (1 -> "1", True -> "true") and lists for tuples
        obj = json.loads(json.dumps(obj))
    if not isinstance(obj, dict) or not obj:
        return json.dumps(obj, ensure_ascii=False)
    inner = indent + " "
    return "{\n" + ",\n".join(f"{inner}{json.dumps(k, ensure_ascii=False)}: "
                               f"{json_lines(v, inner)}" for k, v in obj.items()) + f"\n{indent}}}"


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)       # the earliest date a zip can hold


def reproducible_keras(path: Path) -> None:
    """Rewrite the model.keras that Keras just saved at `path` so that the same network and
    weights are the same bytes: Keras stamps metadata.json's "date_saved" and the weights'
    zip entry with the time of saving, so two identical runs wrote bundles whose model.keras,
    sha256 and manifest differed, and a bundle kept in git changed on every re-save. Keras
    never reads the date back; it is $SOURCE_DATE_EPOCH's (reproducible-builds.org) where
    that is set, else the zip epoch, 1980-01-01, the date Keras gives the other entries."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = (time.gmtime(int(epoch))[:6] if epoch.isdigit() and int(epoch) >= 315532800
            else ZIP_EPOCH)
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for info, data in members:
                if info.filename == "metadata.json":
                    meta = json.loads(data)
                    meta["date_saved"] = "{:04d}-{:02d}-{:02d}@{:02d}:{:02d}:{:02d}".format(*when)
                    data = json.dumps(meta).encode()
                fixed = zipfile.ZipInfo(info.filename, date_time=when)
                fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
                zf.writestr(fixed, data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_whole(path: Path, text: str, **more: str) -> None:
    """`text` written beside `path` as UTF-8, then renamed over it (and each of `more`, a
    file name beside `path` and its text, likewise; none is renamed until all are written):
    a disk that filled up mid-write left a manifest cut short ("not valid JSON") in place of
    a good one, or a new metrics.json beside the old card."""
    texts = {path: text, **{path.with_name(name): t for name, t in more.items()}}
    texts.update(manifest_in_step(path.parent, texts))
    tmps = {p: p.with_name(f".{p.name}.tmp-{os.getpid()}") for p in texts}
    try:
        for p, t in texts.items():
            tmps[p].write_text(t, encoding="utf-8")
        for p, tmp in tmps.items():
            os.replace(tmp, p)
    except BaseException:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
        raise


def manifest_in_step(directory: Path, texts: dict) -> dict:
    """{manifest path: its text} with the sha256 of `texts` ({path: new text}) where they
    are files a bundle's manifest.json in `directory` lists, else {}: renamed with them
    (last), the bundle loads between the files and write_manifest. `zoo compare` (or
    any write_card) stopped there (Ctrl-C, kill) left a new card under the old manifest,
    "changed or corrupted", and the same command could no longer load it to finish."""
    mpath = directory / "manifest.json"
    if mpath in texts or not mpath.is_file():
        return {}
    try:
        manifest = read_json(mpath, MAX_MANIFEST_BYTES)
    except BundleError:
        return {}
    files = manifest.get("files") if isinstance(manifest, dict) else None
    listed = [p for p in texts if isinstance(files, dict) and p.name in files]
    if not listed or "format_version" not in manifest:   # not a bundle's (batch-predict's)
        return {}
    for p in listed:
        files[p.name] = hashlib.sha256(texts[p].encode("utf-8")).hexdigest()
    return {mpath: json.dumps(manifest, indent=2) + "\n"}


def set_preprocessor_fields(directory: Path, **fields) -> None:
    """Add or replace `fields` of a bundle's preprocessor (e.g. limits an application
    calibrated after training) and re-hash the manifest, so the bundle still loads."""
    directory = Path(directory)
    prep = read_json(directory / "preprocessor.json")
    prep["preprocessor"].update(fields)
    write_whole(directory / "preprocessor.json", json_lines(prep) + "\n")
    write_manifest(directory, prep["model"])


def check(directory: Path) -> dict:
    """Verify a bundle before loading it. Every file the loader reads is listed in the
    manifest as a plain name inside the bundle, is a regular file and matches its sha256;
    the format version is one this rnn-zoo reads; the model is registered and is the one
    preprocessor.json was written for. Anything else is a BundleError."""
    directory = Path(directory)
    mpath = directory / "manifest.json"
    if not (mpath.exists() or mpath.is_symlink()):
        if (directory / "saved_model.pb").is_file():      # zoo export --format saved_model
            raise BundleError(f"{directory}: a SavedModel export, not a bundle; serve it with "
                              f"TF Serving or load it with tf.saved_model.load (zoo.load and "
                              f"zoo predict take a model name or a bundle folder)")
        raise BundleError(f"{directory}: no manifest.json; expected a bundle written by "
                          f"ZooModel.save()" + unfinished(directory))
    manifest = read_json(mpath, MAX_MANIFEST_BYTES)
    if not isinstance(manifest, dict):
        raise BundleError(f"{mpath}: expected a JSON object with format_version, model and "
                          f"files; got a {type(manifest).__name__}")
    if "format_version" not in manifest and not isinstance(manifest.get("files"), dict):
        # another tool's manifest.json (zoo batch-predict's output folder): it said
        # "format_version None is not valid", as if a bundle's were damaged
        raise not_a_bundle(directory)
    fmt = manifest.get("format_version")
    valid = isinstance(fmt, int) and not isinstance(fmt, bool)
    if valid and fmt > FORMAT_VERSION:
        raise BundleError(f"{directory}: bundle format version {fmt!r} is newer than this "
                          f"rnn-zoo understands ({FORMAT_VERSION}){written_by(manifest)}; "
                          f"upgrade rnn-zoo (pip install -U rnn-zoo)")
    if not valid or fmt < 1:
        raise BundleError(f"{mpath}: format_version {fmt!r} is not valid; expected an integer "
                          f"from 1 to {FORMAT_VERSION}")
    name = manifest.get("model")
    if not isinstance(name, str) or name not in registry.names():
        # a bundle of an application a newer zoo added: say which zoo wrote it
        wrote = written_by(manifest) if isinstance(name, str) else ""
        newer = (f"{wrote}; upgrade rnn-zoo (pip install -U rnn-zoo); this one has " if wrote
                 else "; expected one of ")
        raise BundleError(f"{mpath}: model {name!r} is not a registered model{newer}"
                          f"{', '.join(registry.names())}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise BundleError(f"{mpath}: 'files' must map each file name to its sha256")
    unlisted = [f for f in REQUIRED if f not in files]
    if unlisted:
        raise BundleError(f"{mpath}: {', '.join(unlisted)} not listed; every file the loader "
                          f"reads must have its sha256 in the manifest")
    for fname, expected in files.items():
        if not plain_name(fname):
            raise BundleError(f"{mpath}: {fname!r} is not a plain file name inside the bundle "
                              f"(no folders, '..' or absolute paths)")
        path = directory / fname
        try:
            actual = sha256(path)
        except FileNotFoundError:
            raise BundleError(f"{path}: listed in manifest.json but missing; expected the whole "
                              f"bundle folder (copy it again)") from None
        if actual != expected.lower():      # a digest in upper-case hex is the same digest
            raise BundleError(f"{path}: sha256 {actual[:12]}… does not match manifest.json "
                              f"({expected[:12]}…); " + why_changed(path, expected))
    prep = read_json(directory / "preprocessor.json")
    if not isinstance(prep, dict) or not isinstance(prep.get("preprocessor"), dict):
        raise BundleError(f"{directory / 'preprocessor.json'}: expected a JSON object with "
                          f"'model' and 'preprocessor'")
    if prep.get("model") != name:
        raise BundleError(f"{directory}: manifest.json is for {name!r} but preprocessor.json "
                          f"for {prep.get('model')!r}; expected the same model")
    if not isinstance(read_json(directory / "metrics.json"), dict):
        raise BundleError(f"{directory / 'metrics.json'}: expected a JSON object of metrics")
    # Keras says "File not found" of a .keras file cut short (a copy that stopped): name it.
    if not zipfile.is_zipfile(directory / "model.keras"):
        raise BundleError(f"{directory / 'model.keras'}: not a Keras zip archive (cut short "
                          f"or corrupted); expected the model.keras that ZooModel.save() wrote")
    buckets = prep["preprocessor"].get("buckets")
    if buckets is not None:         # the lengths every batch pads to (zoo.data)
        try:
            check_buckets(buckets, "buckets")
        except InputError as e:
            raise BundleError(f"{directory / 'preprocessor.json'}: {e}") from None
    return manifest


def written_by(manifest: dict) -> str:
    """ " (written by rnn-zoo 0.9.0; this is 0.2.0)" from a manifest's versions, or "" (none
    recorded, or this very version)."""
    recorded = manifest.get("versions")
    wrote = recorded.get("rnn-zoo") if isinstance(recorded, dict) else None
    if not isinstance(wrote, str) or not wrote.strip() or len(wrote) > 40 \
            or wrote == _version("rnn-zoo"):
        return ""
    return f" (written by rnn-zoo {wrote}; this is {_version('rnn-zoo')})"


def load_failure(directory: Path, manifest: dict, e: Exception) -> BundleError:
    """A model.keras that Keras cannot rebuild (ZooModel.load's last resort): a bundle from
    another zoo, whose config names a layer class or an argument this one lacks, gave only
    Keras's "Functional could not be deserialized properly. Please ensure ..." Name the
    classes this zoo does not know and the zoo that wrote it, and what to do."""
    import keras

    unknown = []
    try:
        with zipfile.ZipFile(Path(directory) / "model.keras") as z:
            config = json.loads(z.read("config.json"))

        def walk(node):
            if isinstance(node, dict):
                reg = node.get("registered_name")
                if (isinstance(reg, str) and ">" in reg and reg not in unknown
                        and keras.saving.get_registered_object(reg) is None):
                    unknown.append(reg)
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(config)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RecursionError):
        pass
    # Keras's own cause is last, after the whole config ("Exception encountered: ...")
    cause = " ".join(str(e).rsplit("Exception encountered:", 1)[-1].split()).rstrip(".")
    what = (f"layer class{'es' if len(unknown) > 1 else ''} {', '.join(unknown[:5])} unknown to "
            f"this rnn-zoo" if unknown else f"{type(e).__name__}: {cause[:200]}")
    wrote = (manifest.get("versions") or {}).get("rnn-zoo") if written_by(manifest) else None
    return BundleError(f"{Path(directory) / 'model.keras'}: cannot load ({what})"
                       f"{written_by(manifest)}; " + (
                           f"load it with the rnn-zoo that wrote it (pip install "
                           f"rnn-zoo=={wrote}), or re-train it with this one" if wrote else
                           "expected the model.keras that ZooModel.save() wrote"))


def why_changed(path: Path, expected: str) -> str:
    """Why a file's sha256 differs: a git checkout with core.autocrlf (Windows) turns a
    JSON or card's LF line endings into CRLF, which read as 'changed or corrupted'."""
    try:
        with open_regular(path) as f:
            data = f.read(64 << 20)
    except (OSError, BundleError):
        data = b""
    lf = data.replace(b"\r\n", b"\n")
    if lf != data and hashlib.sha256(lf).hexdigest() == expected.lower():
        return ("its line endings were changed to CRLF (a git checkout with core.autocrlf, "
                "or an editor); restore LF endings (git config core.autocrlf false, then check "
                "the bundle out again) or copy the bundle as binary files")
    return "the file was changed or corrupted"


def read_json(path: Path, limit: int | None = None):
    """JSON from a regular file (at most `limit` bytes), or a BundleError naming it."""
    try:
        with open_regular(path) as f:
            data = f.read(limit + 1) if limit else f.read()
    except OSError as e:
        raise BundleError(f"{path}: cannot read JSON ({e})") from None
    if limit and len(data) > limit:
        raise BundleError(f"{path}: larger than {limit} bytes; expected a small JSON file")
    try:
        # utf-8-sig: a manifest.json saved by an editor that adds a byte-order mark (Notepad)
        # is the same JSON (RFC 8259 lets a parser ignore it); the others' sha256 catch theirs
        return json.loads(data.decode("utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{path}: not valid JSON ({e}); expected the file ZooModel.save() "
                          f"wrote (copy the bundle again)") from None
    except RecursionError:      # [[[[...: the parser's stack; a raw RecursionError was shown
        raise BundleError(f"{path}: its JSON nests lists or objects too deeply to read; "
                          f"expected the file ZooModel.save() wrote") from None


def read_card(name_or_path: str) -> str:
    """The model card of a bundle, once the bundle passes `check`: a card edited after the
    manifest was written (a better score typed in) is refused, as loading it would be."""
    folder = resolve(name_or_path)
    if not (folder / "manifest.json").is_file():
        raise not_a_bundle(folder)
    check(folder)
    path = folder / "card.md"
    try:
        with open_regular(path) as f:
            return f.read().decode("utf-8", errors="replace")
    except OSError as e:
        raise BundleError(f"{path}: cannot read the model card ({e})") from None
