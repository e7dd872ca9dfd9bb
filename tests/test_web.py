"""The web page of `zoo serve` in a real browser: headless Chromium (Debian's `chromium`,
driven by Playwright) against a server on 127.0.0.1 with one model of each task; every
panel is filled as a person would (typing, uploading a WAV and an image, recording from
the microphone, which Chromium fakes with a real FSDD recording) and what appears is
checked. Screenshots are kept in the test's tmp_path, or in $ZOO_ARTEFACTS when set
(the path is printed).

Needs `pip install playwright` (the `test` extra) and `apt-get install -y chromium`
(`make test-slow` does both); never `playwright install`, which downloads its own browser.
Slow (six models load, about a minute on 2 cores): `make test-slow`.
"""
import os
import shutil
from pathlib import Path

import pytest

from test_serve import Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MODELS = ["ner-bilstm", "summarize-attn", "forecast-lstm", "music-lstm", "speech-ctc",
          "caption-cnn-lstm"]
TIMEOUT = 120_000               # ms: a first call may trace a graph on a busy machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(MODELS, tmp_path_factory.mktemp("web") / "server.log", timeout=400)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    folder = Path(os.environ.get("ZOO_ARTEFACTS") or tmp_path_factory.mktemp("web-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def test_every_panel_in_headless_chromium(server, artefacts, data_dir):
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH (apt-get install -y chromium; `make test-slow` does)")
    playwright = pytest.importorskip("playwright.sync_api")
    wav = data_dir / "fsdd" / "recordings" / "7_jackson_0.wav"
    image = data_dir / "captioning" / "emoji" / "images" / "google" / "1f603.png"
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"])
        page = browser.new_context(viewport={"width": 1400, "height": 1000},
                                   permissions=["microphone"]).new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)

        def panel(name):
            return page.locator(f"section[data-model='{name}']")

        def finish(name, shot):
            p = panel(name)
            page.wait_for_function(
                f"document.querySelector(\"section[data-model='{name}']\").dataset.state "
                f"in {{done: 1, error: 1}}", timeout=TIMEOUT)
            p.screenshot(path=str(artefacts / f"{shot}.png"))
            assert p.get_attribute("data-state") == "done", p.locator(".error").inner_text()
            return p

        def picture_shown(p):
            return p.locator("img.picture").evaluate("img => img.complete && img.naturalWidth > 0")

        # NER: typed text, entities highlighted with their confidences
        p = panel("ner-bilstm")
        p.locator("textarea").fill("Angela Merkel met Emmanuel Macron in Paris on Tuesday .")
        p.locator("button[name=run]").click()
        p = finish("ner-bilstm", "ner")
        marks = p.locator("mark.ent").all_inner_texts()
        assert any("Angela Merkel" in m and "PER" in m and "%" in m for m in marks), marks
        assert any("Paris" in m and "LOC" in m for m in marks), marks

        # summarization: the example document, the summary and its attention map
        p = panel("summarize-attn")
        p.locator("button[name=run]").click()
        p = finish("summarize-attn", "summarization")
        assert p.locator(".summary").inner_text().strip() and picture_shown(p)

        # forecasting: the example CSV as pasted, a table of 5 days and the fan chart
        p = panel("forecast-lstm")
        p.locator("input[name=horizon]").fill("5")
        p.locator("button[name=run]").click()
        p = finish("forecast-lstm", "forecasting")
        assert p.locator("table.table tr").count() == 6 and picture_shown(p)

        # music: 32 steps after the example primer: a piano roll and a MIDI download
        p = panel("music-lstm")
        p.locator("input[name=example]").check()
        p.locator("input[name=steps]").fill("32")
        p.locator("button[name=run]").click()
        p = finish("music-lstm", "music")
        assert "32 steps generated" in p.locator(".summary").inner_text() and picture_shown(p)
        assert p.locator("a.midi").get_attribute("href").startswith("data:audio/midi;base64,")

        # speech: an uploaded WAV ("seven"), then two seconds from the (fake) microphone
        p = panel("speech-ctc")
        p.locator("input[name=file]").set_input_files(str(wav))
        p = finish("speech-ctc", "speech-upload")
        assert p.locator(".transcript").inner_text().strip() == "7" and picture_shown(p)
        p.locator("button[name=record]").click()
        page.wait_for_selector("section[data-model='speech-ctc'] button.recording", timeout=10_000)
        page.wait_for_timeout(2000)
        page.evaluate("document.querySelector(\"section[data-model='speech-ctc']\").dataset.state = ''")
        p.locator("button[name=record]").click()
        p = finish("speech-ctc", "speech-microphone")
        assert p.locator(".transcript").inner_text().strip() and picture_shown(p)

        # captioning: an uploaded image, its caption and the attention over it per word
        p = panel("caption-cnn-lstm")
        p.locator("input[name=file]").set_input_files(str(image))
        p = finish("caption-cnn-lstm", "captioning")
        assert "face" in p.locator(".caption").inner_text() and picture_shown(p)

        # bad input: the server's one-line message, shown in the panel
        p = panel("ner-bilstm")
        p.locator("textarea").fill("   ")
        p.locator("button[name=run]").click()
        page.wait_for_function("document.querySelector(\"section[data-model='ner-bilstm']\")"
                               ".dataset.state === 'error'", timeout=TIMEOUT)
        assert "empty sentence" in p.locator(".error").inner_text()

        page.screenshot(path=str(artefacts / "page.png"), full_page=True)
        browser.close()
    assert not errors, errors
