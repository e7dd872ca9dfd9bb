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
    with pytest.raises(BundleError, match="metrics.json: sha256.*delete .* to download it again"):
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


@pytest.mark.parametrize("case, match", [
    ("cut short", "not a readable bundle archive .Compressed file ended"),   # was EOFError
    ("unpacks huge", "unpacks to more than 1 MB or 1000 files"),
    ("many files", "unpacks to more than 1 MB or 1000 files"),
    ("a zip", r"bundle.tar.gz: a zip archive, not a .tar.gz; unzip it and pull"),
])
def test_archives_that_are_cut_or_unpack_to_too_much(case, match, home, bundle_copy, archive,
                                                      served, tmp_path, monkeypatch):
    """A cut-short .gz raised a raw EOFError; 2 MB of gzip unpacked 400 MB of zeros into the
    cache, and 20,000 empty members took their time: sizes and counts are checked first."""
    import io
    import shutil

    monkeypatch.setattr(hub, "MAX_UNPACKED_BYTES", 1 << 20)
    src = bundle_copy(NAME)
    path = archive(src)
    if case == "cut short":
        path.write_bytes(path.read_bytes()[:-5000])
    elif case in ("unpacks huge", "many files"):
        with tarfile.open(path, "w:gz") as tar:
            for i in range(1 if case == "unpacks huge" else 1001):
                info = tarfile.TarInfo(f"{NAME}/zeros{i}.bin")
                info.size = (2 << 20) if case == "unpacks huge" else 0
                tar.addfile(info, io.BytesIO(bytes(info.size)))
    else:
        shutil.make_archive(str(tmp_path / "z"), "zip", src)
        shutil.move(tmp_path / "z.zip", path)
    with pytest.raises(BundleError, match=match) as e:
        hub.fetch(f"{served}/bundle.tar.gz")
    assert "\n" not in str(e.value)
    assert not list(home.glob("*/*/zeros*"))      # nothing unpacked is kept


def test_a_server_that_trickles_meets_the_deadline(home, monkeypatch):
    """Each byte came within the socket timeout, so a server sending one a second held the
    download for as long as it liked (100 MB: about three years)."""
    import time

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(hub, "MAX_DOWNLOAD_SECONDS", 1)
    start = time.monotonic()
    try:
        with pytest.raises(BundleError, match=r"download took more than 1 s \(0 KB received\)"):
            hub.fetch(f"http://127.0.0.1:{server.server_address[1]}/b.tar.gz")
    finally:
        server.shutdown()
        server.server_close()
    assert time.monotonic() - start < 5


def test_a_zoo_home_that_cannot_be_a_folder_is_named(tmp_path, monkeypatch, bundle_copy):
    """A file there was FileExistsError from the Python API, and from the CLI 'error: PATH:
    File exists', naming neither the cache nor the variable that sets it."""
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "file"))
    with pytest.raises(BundleError, match=r"cannot create the cache folder .*file \(File exists\); "
                                          r"set \$ZOO_HOME to a folder you can write"):
        hub.pull(NAME, bundle_copy(NAME))


def test_pull_checks_a_folder_where_it_is_and_copies_only_a_bundle(home, tmp_path):
    """--from '' copied the current folder into the cache, and a folder that is no bundle
    was copied whole first (a home folder...) and named by its staging copy's path."""
    (tmp_path / "mine" / "deep").mkdir(parents=True)
    (tmp_path / "mine" / "deep" / "big.bin").write_bytes(bytes(1000))
    with pytest.raises(BundleError, match=f"^{tmp_path / 'mine'}: no manifest.json"):
        hub.pull(NAME, tmp_path / "mine")
    with pytest.raises(BundleError, match="expected a bundle folder, a .tar.gz of one, or its "
                                          "http\\(s\\) URL; got ''"):
        hub.pull(NAME, "")
    assert not list(home.rglob("big.bin"))


def test_pull_of_a_preset_says_whose_preset_it_is(home):
    """It said "unknown model 'music-lstm-nottingham' ... Did you mean 'music-lstm-nottingham'?"."""
    with pytest.raises(BundleError, match="music-lstm-nottingham is a preset of music-lstm"):
        hub.pull("music-lstm-nottingham", "http://127.0.0.1:9/never-fetched.tar.gz")


# ---- a user outside the checkout (stop 68): names, paths and the cache --------------------
def test_a_pulled_bundle_changed_on_disk_says_how_to_get_unstuck(home, bundle_copy, capsys):
    """`zoo predict NAME` failed on the sha256 of the pulled copy with no word of where it
    came from: every load of NAME failed until the user found $ZOO_HOME/bundles/NAME."""
    stored = hub.pull(NAME, bundle_copy(NAME))
    with open(stored / "card.md", "a") as f:
        f.write("edited\n")
    with pytest.raises(BundleError, match=f"the bundle zoo pull stored for {NAME}: pull it again, "
                                          f"or delete {stored} for the shipped weights"):
        zoo.bundle.resolve(NAME)
    assert main(["list"]) == 0        # `zoo list` says NAME is not the shipped weights now
    assert f"  {NAME} loads the bundle zoo pull stored at {stored} (zoo pull {NAME} --remove" \
        in capsys.readouterr().out


def test_info_says_the_card_is_the_pulled_bundles(home, bundle_copy, capsys):
    """`zoo info NAME` printed the pulled bundle's card with no word that it was not the
    shipped model's (only `zoo list` said so), nor how to go back."""
    stored = hub.pull(NAME, bundle_copy(NAME))
    assert main(["info", NAME]) == 0
    assert capsys.readouterr().out.rstrip().endswith(
        f"{NAME} loads the bundle zoo pull stored at {stored} (zoo pull {NAME} --remove for the "
        f"shipped weights)")
    # and that goes back: the shipped weights again, the stored bundle gone
    assert main(["pull", NAME, "--remove"]) == 0
    assert "loads its shipped weights again" in capsys.readouterr().out
    assert hub.pulled(NAME) is None and not stored.exists()
    assert zoo.bundle.resolve(NAME) != stored
    assert main(["pull", NAME, "--remove"]) == 2        # nothing stored: one line
    assert "already loads the shipped weights" in capsys.readouterr().err
    with pytest.raises(SystemExit):                     # --from or --remove, one of them
        main(["pull", NAME])


def test_paths_that_are_no_bundle_say_what_they_are(tmp_path, monkeypatch):
    """Each was "not a bundle directory (expected a folder with model.keras, ...)": a folder
    that does not exist, the registered name typed as a path, an export, a file:// URL, a
    local archive, and another tool's manifest.json (zoo batch-predict's output: it said
    "format_version None is not valid")."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BundleError, match="^my-nre/: no such folder; expected a bundle directory$"):
        zoo.bundle.resolve("my-nre/")
    with pytest.raises(BundleError, match="^ner-bilstm/: no such folder; expected a bundle "
                                          "directory; ner-bilstm is a registered model: give its "
                                          "name alone, without a path$"):
        zoo.bundle.resolve("ner-bilstm/")
    for name in ("m.tflite", "m.onnx"):       # a multi-function .onnx is only its sidecar
        (tmp_path / f"{name}.json").write_text("{}")
        with pytest.raises(BundleError, match=rf"^{name}: an exported model, not a bundle "
                                              rf"directory; run it with zoo.runtime.load\('{name}'\)"):
            zoo.load(name)
    with pytest.raises(BundleError, match="no such folder; expected a bundle directory; only "
                                          "http\\(s\\) URLs are fetched$"):
        zoo.load(f"file://{tmp_path}/b.tar.gz")
    (tmp_path / "b.tar.gz").write_bytes(b"")
    with pytest.raises(BundleError, match="^b.tar.gz: a bundle archive, not a bundle directory; "
                                          "unpack it, or store it as a model's weights: zoo pull "
                                          "NAME --from b.tar.gz$"):
        zoo.load("b.tar.gz")
    (tmp_path / "preds").mkdir()
    (tmp_path / "preds" / "manifest.json").write_text('{"model": "ner-bilstm", "files": 2}')
    with pytest.raises(BundleError, match="^preds: not a bundle directory"):
        zoo.info("preds")


def test_home_without_a_home_folder_or_with_odd_variables(monkeypatch, tmp_path):
    """No $HOME and a user id without a passwd entry (a container): `zoo list` and
    zoo.load(NAME) were a raw RuntimeError from Path.home(); a relative $XDG_CACHE_HOME
    (invalid, says the XDG spec) and a blank $ZOO_HOME made cache folders in the current
    folder; a relative $ZOO_HOME is named absolute."""
    monkeypatch.delenv("ZOO_HOME")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "h"))    # were the patch to miss

    def no_home(cls):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(hub.Path, "home", classmethod(no_home))
    assert hub.pulled(NAME) is None
    assert main(["list"]) == 0
    with pytest.raises(BundleError, match=r"no home folder .*set \$ZOO_HOME to a folder"):
        hub.pull(NAME, zoo.registry.get(NAME).bundle_path)
    monkeypatch.undo()
    monkeypatch.delenv("ZOO_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    assert hub.home() == tmp_path / "h" / ".cache" / "rnn-zoo"
    monkeypatch.setenv("ZOO_HOME", "  ")
    assert hub.home() == tmp_path / "h" / ".cache" / "rnn-zoo"
    monkeypatch.setenv("ZOO_HOME", "cache")
    assert hub.home() == tmp_path / "cache"


@pytest.mark.parametrize("source", ["folder", "archive"])
def test_a_full_disk_while_pulling_keeps_the_stored_bundle(source, home, bundle_copy, archive,
                                                           monkeypatch):
    """A cache whose disk fills up mid-pull: an archive was "not a readable bundle archive
    ([Errno 27] File too large)", as if it were damaged, and a folder a raw "File too
    large" naming the staging copy. The bundle stored before stays, and no staging."""
    import errno
    import shutil
    import tarfile

    src = bundle_copy(NAME)
    stored = hub.pull(NAME, src)
    given = archive(src) if source == "archive" else src

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(home / "x"))
    monkeypatch.setattr(shutil, "copy2", full)
    monkeypatch.setattr(tarfile.TarFile, "extractall", full)
    with pytest.raises(BundleError, match=rf"cannot store it in the cache .*: no space left on "
                                          rf"the disk; the bundle stored before at {stored} "
                                          rf"is unchanged"):
        hub.pull(NAME, given)
    zoo.bundle.check(stored)
    assert sorted(p.name for p in home.iterdir()) == ["bundles"]


def test_a_pulled_bundle_with_files_deleted_is_named_not_skipped(home, bundle_copy):
    """A stored bundle whose manifest.json was deleted (with some other files) loaded the
    shipped weights without a word; now it is named, with how to get unstuck."""
    stored = hub.pull(NAME, bundle_copy(NAME))
    (stored / "manifest.json").unlink()
    (stored / "card.md").unlink()
    with pytest.raises(BundleError, match=rf"no manifest.json.*the bundle zoo pull stored for "
                                          rf"{NAME}: pull it again, or delete {stored}"):
        zoo.bundle.resolve(NAME)
    for f in stored.iterdir():              # emptied: the shipped weights, as before
        f.unlink()
    assert zoo.bundle.resolve(NAME) == zoo.registry.get(NAME).bundle_path


def test_pull_sweeps_what_killed_pulls_left_and_names_a_zip(home, bundle_copy, tmp_path):
    """A pull killed mid-way (kill -9) left its staging folder (.pull-*) or the copy it had
    moved aside (.NAME.old-*) in the cache for good, a bundle each, unseen by `ls`; those
    older than any running pull are removed by the next pull. A .zip is named as one."""
    import shutil

    src = bundle_copy(NAME)
    stale, fresh = home / ".pull-killed", home / ".pull-running"
    old = home / "bundles" / f".{NAME}.old-1-2"
    for p in (stale, fresh, old):
        p.mkdir(parents=True)
        (p / "model.keras").write_bytes(b"x" * 1000)
    long_ago = os.stat(stale).st_mtime - 2 * hub.STALE_SECONDS
    os.utime(stale, (long_ago, long_ago))
    os.utime(old, (long_ago, long_ago))
    hub.pull(NAME, src)
    assert sorted(p.name for p in home.iterdir()) == [".pull-running", "bundles"]
    assert [p.name for p in (home / "bundles").iterdir()] == [NAME]
    zipped = shutil.make_archive(str(tmp_path / "sent"), "zip", src.parent, src.name)
    with pytest.raises(BundleError, match=r"sent.zip: a zip archive, not a .tar.gz; unzip it"):
        hub.pull(NAME, zipped)


def test_a_failed_move_into_place_keeps_the_stored_bundle(home, bundle_copy, monkeypatch,
                                                          tmp_path):
    """_replace moved the stored bundle aside, and when the new one could not be renamed
    into place (other than by a concurrent pull) deleted it anyway: no bundle at all."""
    import errno

    import shutil

    src = bundle_copy(NAME)
    stored = hub.pull(NAME, src)
    again = shutil.copytree(src, tmp_path / "again")
    rename = os.rename

    def refuse(src, dst):
        if str(dst) == str(stored) and ".old-" not in str(src):
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(src))
        return rename(src, dst)
    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(OSError, match="cross-device"):
        hub.pull(NAME, again)
    zoo.bundle.check(stored)
    assert [p.name for p in (home / "bundles").iterdir()] == [NAME]


@pytest.mark.parametrize("member", ["/tmp/evil.md", f"{NAME}/deeper/evil.md", "a/b/c/evil.md"])
def test_archive_members_outside_one_bundle_folder_are_refused(member, home, bundle_copy,
                                                                tmp_path):
    """The 'data' filter made /tmp/evil.md a relative tmp/evil.md and kept nested folders:
    such an archive was stored, its stray folders inside the cached bundle."""
    path = tmp_path / "bundle.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(bundle_copy(NAME), arcname=NAME)
        tar.addfile(tarfile.TarInfo(member))
    with pytest.raises(BundleError, match=rf"the archive holds '{member}', which is no file "
                                          rf"of a bundle folder") as e:
        hub.pull(NAME, path)
    assert "\n" not in str(e.value)
    assert not (home / "bundles" / NAME).exists()
    assert not list(home.rglob("evil.md")) and not (tmp_path / "tmp").exists()
