"""The cache: `zoo pull` from a folder, an archive or a URL (a local http.server on
127.0.0.1), `zoo.load(URL)`, and every way a fetched bundle can be wrong."""
import functools
import http.server
import os
import tarfile
import threading

import pytest

import zoo
from zoo import hub
from zoo.cli import main
from zoo.errors import BundleError, UnknownModelError

NAME = "forecast-lstm"          # the smallest shipped bundle


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def archive(tmp_path):
    def make(src, name="bundle.tar.gz", inner=NAME):
        path = tmp_path / name
        with tarfile.open(path, "w:gz") as tar:
            tar.add(src, arcname=inner)
        return path
    return make


@pytest.fixture
def served(tmp_path):
    """An http.server on 127.0.0.1 (a free port) serving tmp_path; yields the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pull_from_a_folder_replaces_the_shipped_weights_for_that_name(home, bundle_copy):
    src = bundle_copy(NAME)
    assert zoo.bundle.resolve(NAME) == zoo.registry.get(NAME).bundle_path
    stored = hub.pull(NAME, src)
    assert stored == home / "bundles" / NAME and (stored / "model.keras").exists()
    assert zoo.bundle.resolve(NAME) == stored
    zoo.bundle.check(stored)


def test_pull_from_a_url_and_load_a_url(home, bundle_copy, archive, served, capsys):
    archive(bundle_copy(NAME))
    assert main(["pull", NAME, "--from", f"{served}/bundle.tar.gz"]) == 0
    assert str(home / "bundles" / NAME) in capsys.readouterr().out
    m = zoo.load(f"{served}/bundle.tar.gz")     # downloaded once into the cache, verified
    assert m.entry.name == NAME
    cached = list((home / "downloads").iterdir())
    assert len(cached) == 1 and (cached[0] / "manifest.json").exists()
    shipped = zoo.load(NAME)
    examples = shipped.parity_examples()[:2]
    assert m.predict(examples)[0].equals(shipped.predict(examples)[0])


def test_a_tampered_archive_is_refused_and_nothing_is_stored(home, bundle_copy, archive, served):
    src = bundle_copy(NAME)
    with open(src / "model.keras", "r+b") as f:     # one byte changed after the manifest
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    archive(src)
    with pytest.raises(BundleError, match="sha256 .* does not match manifest.json"):
        hub.pull(NAME, f"{served}/bundle.tar.gz")
    with pytest.raises(BundleError, match="does not match manifest.json"):
        zoo.load(f"{served}/bundle.tar.gz")
    assert not (home / "bundles" / NAME).exists()
    assert not list((home / "downloads").glob("*/manifest.json"))


def test_a_cached_download_changed_on_disk_is_refused(home, bundle_copy, archive, served):
    archive(bundle_copy(NAME))
    path = hub.fetch(f"{served}/bundle.tar.gz")
    (path / "metrics.json").write_text("{}")
    with pytest.raises(BundleError, match="metrics.json: sha256"):
        hub.fetch(f"{served}/bundle.tar.gz")


@pytest.mark.parametrize("case, match", [
    ("other model", "a bundle of 'forecast-lstm', not of 'speech-ctc'"),
    ("missing url", "cannot download"),
    ("not an archive", "not a readable bundle archive"),
    ("no manifest", "no manifest.json in the archive"),
    ("escaping name", "not a readable bundle archive"),
    ("no such path", "no such folder, archive or http"),
])
def test_bad_sources_get_one_line_errors(case, match, home, bundle_copy, archive, served, tmp_path):
    name, source = NAME, f"{served}/bundle.tar.gz"
    if case == "other model":
        archive(bundle_copy(NAME))
        name = "speech-ctc"
    elif case == "missing url":
        source = f"{served}/nothing-here.tar.gz"
    elif case == "not an archive":
        (tmp_path / "bundle.tar.gz").write_text("hello")
    elif case == "no manifest":
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "card.md").write_text("x")
        archive(tmp_path / "empty")
    elif case == "escaping name":          # the 'data' filter refuses '..' in member names
        with tarfile.open(tmp_path / "bundle.tar.gz", "w:gz") as tar:
            tar.add(bundle_copy(NAME) / "card.md", arcname="../evil.md")
    else:
        source = str(tmp_path / "nowhere")
    with pytest.raises(BundleError, match=match) as e:
        hub.pull(name, source)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "evil.md").exists() and not (home.parent / "evil.md").exists()


def test_pull_of_an_unknown_name_fails_before_fetching(home):
    with pytest.raises(UnknownModelError, match="unknown model 'ner-bilstn'.*ner-bilstm"):
        hub.pull("ner-bilstn", "http://127.0.0.1:9/never-fetched.tar.gz")


def test_home_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("ZOO_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert hub.home() == tmp_path / "rnn-zoo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert hub.home() == type(tmp_path).home() / ".cache" / "rnn-zoo"
    assert os.environ.get("ZOO_HOME") is None
