"""Bundles from elsewhere: the cache (`$ZOO_HOME`, default ~/.cache/rnn-zoo), `zoo pull`,
and `zoo.load("https://…/bundle.tar.gz")`.

The shipped weights travel inside the package (see Entry.bundle_path), so a plain install
works offline. The cache holds what a user brings in on purpose: a bundle pulled under a
registered name replaces the shipped one for that name (`zoo pull ner-bilstm --from DIR`),
and a URL is downloaded once per address. Whatever arrives is checked against its
manifest's sha256 (zoo.bundle.check) before it is kept.

>>> is_url("https://example.org/ner-bilstm.tar.gz"), is_url("saved/ner-bilstm")
(True, False)
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from . import bundle, registry
from .errors import BundleError
from .options import user_path

MAX_DOWNLOAD_BYTES = 100 << 20          # a bundle is at most 25 MB; leave room, refuse more
MAX_DOWNLOAD_SECONDS = 600              # a whole download; the socket timeout is per read only
MAX_UNPACKED_BYTES = 100 << 20          # an archive's members, as their headers state them
MAX_MEMBERS = 1000                      # a bundle is a handful of files
URL_SCHEMES = ("http", "https")


def home() -> Path:
    """The cache folder: $ZOO_HOME, else $XDG_CACHE_HOME/rnn-zoo, else ~/.cache/rnn-zoo."""
    env = os.environ.get("ZOO_HOME", "")
    if env.strip():                 # blank, as empty, is unset (it made a folder named "  ")
        try:                        # absolute, so messages and `zoo list` name the folder
            return Path(os.path.abspath(os.path.expanduser(env)))   # ENV ZOO_HOME=~/x
        except OSError:             # relative, in a folder deleted after cd
            return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):          # the XDG spec: a relative path is invalid, ignored
        return Path(xdg) / "rnn-zoo"
    try:
        return Path.home() / ".cache" / "rnn-zoo"
    except RuntimeError:            # no $HOME and a user id without a passwd entry (a container)
        raise BundleError("no home folder to keep the zoo's cache in ($HOME is not set); set "
                          "$ZOO_HOME to a folder you can write") from None


def is_url(text) -> bool:
    return isinstance(text, str) and urllib.parse.urlsplit(text).scheme in URL_SCHEMES


def pulled(name: str) -> Path | None:
    """The bundle `zoo pull` stored for a registered name, if there is one."""
    try:
        path = home() / "bundles" / name
    except BundleError:             # no cache folder: nothing was pulled (zoo list, zoo.load)
        return None
    if (path / "manifest.json").exists():
        return path
    # a stored bundle with some files deleted (its manifest among them) loaded the shipped
    # weights without a word; resolve() now says it is damaged and how to get unstuck
    try:
        return path if path.is_dir() and any(path.iterdir()) else None
    except OSError:
        return path


def pull(name: str, source: str | Path) -> Path:
    """Store the bundle at `source` (a folder, a .tar.gz, or an http(s) URL of one) as the
    weights of registered model `name`; it must be a bundle of that model."""
    owner = registry.preset(name) if isinstance(name, str) else None
    if owner:                           # resolve() reads a preset from the package only
        raise BundleError(f"{name} is a preset of {owner.name} (weights shipped with it); zoo "
                          f"pull stores a bundle for a registered model: zoo pull {owner.name} "
                          f"--from {source}")
    registry.get(name)                  # an unknown name fails before anything is fetched
    source = user_path(source)          # --from=~/x: no shell expands it
    _sweep(home())
    with _writing_cache(source, pulled(name)), \
            tempfile.TemporaryDirectory(dir=_ensure(home()), prefix=".pull-") as tmp:
        staged = _stage(source, Path(tmp))
        manifest = bundle.check(staged)
        if manifest["model"] != name:
            raise BundleError(f"{source}: a bundle of {manifest['model']!r}, not of {name!r}; "
                              f"expected `zoo pull {manifest['model']} --from {source}`")
        return _replace(staged, _ensure(home() / "bundles") / name)


def remove(name: str) -> Path:
    """Delete the bundle `zoo pull` stored for `name` (`zoo pull NAME --remove`): NAME
    loads its shipped weights again. Returns the folder it was in."""
    registry.get(name)
    path = pulled(name)
    if path is None:
        raise BundleError(f"{name}: no bundle stored by zoo pull in {home() / 'bundles'}; it "
                          f"already loads the shipped weights")
    # renamed first, so a zoo.load at the same moment sees the whole bundle or none
    trash = path.with_name(f".{name}.old-{os.getpid()}-{time.monotonic_ns()}")
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
    return path


@contextlib.contextmanager
def _writing_cache(source, earlier: Path | None):
    """A full disk (or quota) while a bundle is copied, downloaded or unpacked into the
    cache is one line naming the cache and what is kept; it was "not a readable bundle
    archive ([Errno 27] File too large)", as if the archive were damaged, or a raw
    "File too large" naming the staging copy. The staging folder goes with the error."""
    try:
        yield
    except OSError as e:
        if e.errno not in bundle.WRITE_ERRORS:
            raise
        kept = (f"; the bundle stored before at {earlier} is unchanged" if earlier else "")
        raise BundleError(f"{source}: cannot store it in the cache {home()}: "
                          f"{bundle.WRITE_ERRORS[e.errno]}{kept}; free some space or set "
                          f"$ZOO_HOME to a folder on another disk") from None


def fetch(url: str) -> Path:
    """The bundle at `url` (a .tar.gz), downloaded once into the cache and verified."""
    target = home() / "downloads" / hashlib.sha256(url.encode()).hexdigest()[:16]
    if (target / "manifest.json").exists():
        try:
            bundle.check(target)        # a cached copy changed on disk is refused too
        except BundleError as e:        # say how to get a good copy back
            raise BundleError(f"{e} (the cached download of {url}: delete {target} to "
                              f"download it again)") from None
        return target
    _sweep(home())
    with _writing_cache(url, None), \
            tempfile.TemporaryDirectory(dir=_ensure(home()), prefix=".fetch-") as tmp:
        staged = _stage(url, Path(tmp))
        bundle.check(staged)
        return _replace(staged, _ensure(target.parent) / target.name)


def _stage(source, tmp: Path) -> Path:
    """`source` as a bundle folder under `tmp` (copied, downloaded or unpacked)."""
    if is_url(source):
        archive = tmp / "bundle.tar.gz"
        _download(source, archive)
        return _unpack(archive, tmp / "bundle", source)
    if not isinstance(source, (str, os.PathLike)) or not str(source).strip():
        # Path("") is the current folder, which was copied whole into the cache
        raise BundleError(f"expected a bundle folder, a .tar.gz of one, or its http(s) URL; "
                          f"got {source!r}")
    path = Path(source)
    if path.is_dir():
        # Checked where it is, so errors name the user's folder (not the staging copy) and
        # a folder that is no bundle (a home folder, a training run's train/) is never
        # copied; then only its plain files are copied, as _unpack takes them.
        bundle.check(path)
        (tmp / "bundle").mkdir()
        for f in path.iterdir():
            if f.is_file() and not f.is_symlink():
                shutil.copy2(f, tmp / "bundle" / f.name)
        return tmp / "bundle"
    if path.is_file():
        return _unpack(path, tmp / "bundle", source)
    raise BundleError(f"{source}: no such folder, archive or http(s) URL; expected a bundle "
                      f"folder, a .tar.gz of one, or its URL")


def _download(url: str, out: Path) -> None:
    too_big = BundleError(f"{url}: larger than {MAX_DOWNLOAD_BYTES >> 20} MB; a bundle is at "
                          f"most 25 MB")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(out, "wb") as f:
            if int(response.headers.get("Content-Length") or 0) > MAX_DOWNLOAD_BYTES:
                raise too_big
            size, deadline = 0, time.monotonic() + MAX_DOWNLOAD_SECONDS
            # read1: what has arrived, so a server that trickles a byte a second (each read
            # within the socket timeout) still meets the deadline rather than hanging
            while chunk := response.read1(1 << 20):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise too_big
                if time.monotonic() > deadline:
                    raise BundleError(f"{url}: download took more than "
                                      f"{MAX_DOWNLOAD_SECONDS} s ({size >> 10} KB received); "
                                      f"expected a bundle of at most 25 MB from a server "
                                      f"that answers")
                f.write(chunk)
    except OSError as e:                # URLError, HTTPError and timeouts are OSErrors
        if e.errno in bundle.WRITE_ERRORS and not isinstance(e, urllib.error.URLError):
            raise                       # writing `out`: a full disk, not the server
        raise BundleError(f"{url}: cannot download ({e}); expected an http(s) URL of a "
                          f"bundle .tar.gz") from None


def _unpack(archive: Path, out: Path, source) -> Path:
    """Extract a bundle archive. The 'data' filter refuses absolute names, '..', links out
    of the folder and device files; a bundle is one folder of plain files, at the archive's
    top or in one folder. The members' sizes and count are checked before anything is
    written: 2 MB of gzip can unpack to gigabytes of zeros."""
    try:
        with tarfile.open(archive) as tar:
            members, size = [], 0
            for member in tar:              # reads headers only as far as the limits allow
                _check_member(member, source)
                members.append(member)
                size += member.size
                if size > MAX_UNPACKED_BYTES or len(members) > MAX_MEMBERS:
                    raise BundleError(f"{source}: the archive unpacks to more than "
                                      f"{MAX_UNPACKED_BYTES >> 20} MB or {MAX_MEMBERS} files; "
                                      f"a bundle is a few files of at most 25 MB")
            tar.extractall(out, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        if isinstance(e, OSError) and e.errno in bundle.WRITE_ERRORS:
            raise                       # writing the members: a full disk, not the archive
        # EOFError: a cut-short .gz; tarfile's ReadError lists every method it tried
        first = str(e).splitlines()[0].rstrip(":")
        if first == "file could not be opened successfully":
            if bundle.zipped(archive):      # a bundle sent as a .zip (mail, a cloud drive)
                raise BundleError(f"{source}: a zip archive, not a .tar.gz; unzip it and pull "
                                  f"the bundle folder inside (zoo pull NAME --from FOLDER)"
                                  ) from None
            first = "not a tar or tar.gz file"
        raise BundleError(f"{source}: not a readable bundle archive ({first}); expected a "
                          f".tar.gz of a bundle folder") from None
    if (out / "manifest.json").exists():
        return out
    inner = [p for p in out.iterdir() if p.is_dir()]
    if len(inner) == 1 and (inner[0] / "manifest.json").exists():
        return inner[0]
    raise BundleError(f"{source}: no manifest.json in the archive; expected a .tar.gz of a "
                      f"bundle folder written by ZooModel.save()")


def _check_member(member: tarfile.TarInfo, source) -> None:
    """Refuse a member that is no file of a bundle folder. The 'data' filter turns an
    absolute name (/tmp/x) into a relative one and keeps folders at any depth: such an
    archive was stored in the cache with tmp/x inside the bundle."""
    name = member.name.removeprefix("./")
    depth = len(Path(name).parts) + member.isdir()    # a file in a folder: 2, that folder: 2
    if name.startswith("/") or depth > 2:
        raise BundleError(f"{source}: the archive holds {member.name[:100]!r}, which is no "
                          f"file of a bundle folder; expected a .tar.gz of one folder of "
                          f"plain files (tar czf NAME.tar.gz NAME)")


def _replace(staged: Path, target: Path) -> Path:
    """Move a verified bundle into place; the old one goes only once the new one is there.
    Safe when two pulls of one name finish at once: each moves the old copy to a name of
    its own, and a rename never lands inside a folder another pull put there first (with
    one ".old" name and shutil.move, one pull failed with a raw "Directory not empty" and
    another left its copy nested inside the bundle). Should it lose ten times, the copy in
    place is another pull's, as verified as this one."""
    for _ in range(10):
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        try:
            os.rename(target, old)
        except FileNotFoundError:
            old = None
        try:
            os.rename(staged, target)
            break
        except OSError as e:            # another pull's copy took the place in between
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                if old is not None:     # it deleted the stored bundle with nothing in its place
                    with contextlib.suppress(OSError):
                        os.rename(old, target)
                    old = None
                raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    return target


STALE_SECONDS = 2 * MAX_DOWNLOAD_SECONDS     # no pull or fetch still running takes longer


def _sweep(cache: Path) -> None:
    """Remove what pulls and fetches killed mid-way (kill -9, a power cut) left in the
    cache: their staging folders (.pull-*, .fetch-*) and the copies _replace had moved
    aside (.NAME.old-*). Nothing else removes them: they grew the cache, unseen by `ls`,
    by a bundle each. Only those older than any running pull can be."""
    now = time.time()
    for folder, pattern in ((cache, ".pull-*"), (cache, ".fetch-*"),
                            (cache / "bundles", ".*.old-*"), (cache / "downloads", ".*.old-*")):
        try:
            stale = [p for p in folder.glob(pattern)
                     if p.is_dir() and not p.is_symlink()
                     and now - p.stat().st_mtime > STALE_SECONDS]
        except OSError:
            continue
        for p in stale:
            shutil.rmtree(p, ignore_errors=True)


def _ensure(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:                # a file there, a read-only disk: it named no variable
        raise BundleError(f"cannot create the cache folder {path} ({e.strerror}); set "
                          f"$ZOO_HOME to a folder you can write (now {home()})") from None
    return path
