"""Bundle files on disk: manifest (sha256 + versions), checks on load, the model card.

A bundle is a directory with model.keras, preprocessor.json, metrics.json, card.md and
manifest.json (DESIGN.md, "Bundle"). This module knows the files, not the model.

>>> from zoo.bundle import resolve
>>> resolve("ner-bilstm").name
'ner-bilstm'
"""
from __future__ import annotations

import hashlib
import json
from importlib.metadata import version as _version
from pathlib import Path

from . import registry
from .errors import BundleError

FORMAT_VERSION = 1
REQUIRED = ("model.keras", "preprocessor.json", "metrics.json", "card.md")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve(name_or_path: str | Path) -> Path:
    """A bundle directory for a registered name or a path; errors name what is missing."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.suffix or "/" in str(name_or_path) or path.exists():
        raise BundleError(f"{name_or_path}: not a bundle directory (expected a folder with "
                          f"{', '.join(REQUIRED)} and manifest.json)")
    entry = registry.get(str(name_or_path))
    shipped = registry.repo_root() / entry.bundle_dir
    if not (shipped / "model.keras").exists():
        raise BundleError(f"{entry.name} has no shipped weights at {shipped}; train them with "
                          f"`zoo train {entry.name} --out {entry.bundle_dir}`")
    return shipped


def write_manifest(directory: Path, name: str) -> dict:
    """Record the sha256 of every file and the versions that wrote the bundle."""
    directory = Path(directory)
    files = {p.name: sha256(p) for p in sorted(directory.iterdir())
             if p.is_file() and p.name != "manifest.json"}
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": name,
        "files": files,
        "versions": {pkg: _version(pkg) for pkg in ("rnn-zoo", "keras", "tensorflow")},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def check(directory: Path) -> dict:
    """Verify a bundle before loading it: files present, checksums, format version."""
    directory = Path(directory)
    mpath = directory / "manifest.json"
    if not mpath.exists():
        raise BundleError(f"{directory}: no manifest.json; expected a bundle written by "
                          f"ZooModel.save()")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{mpath}: not valid JSON ({e})") from None
    fmt = manifest.get("format_version")
    if not isinstance(fmt, int) or fmt > FORMAT_VERSION:
        raise BundleError(f"{directory}: bundle format version {fmt!r} is newer than this "
                          f"rnn-zoo understands ({FORMAT_VERSION}); upgrade rnn-zoo")
    for fname in REQUIRED:
        if not (directory / fname).exists():
            raise BundleError(f"{directory}: {fname} is missing")
    for fname, expected in manifest.get("files", {}).items():
        path = directory / fname
        if not path.exists():
            raise BundleError(f"{path}: listed in manifest.json but missing")
        actual = sha256(path)
        if actual != expected:
            raise BundleError(f"{path}: sha256 {actual[:12]}… does not match manifest.json "
                              f"({expected[:12]}…); the file was changed or corrupted")
    return manifest


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{path}: cannot read JSON ({e})") from None


def read_card(name_or_path: str) -> str:
    return (resolve(name_or_path) / "card.md").read_text(encoding="utf-8")
