"""The web page of `zoo serve` in a real browser: headless Chromium (Debian's `chromium`,
driven by Playwright) against a server on 127.0.0.1 with one model of each task; every
panel is filled as a person would (typing, uploading a WAV and an image, recording from
the microphone, which Chromium fakes with a real FSDD recording) and what appears is
checked; then what a person meets when things go wrong (a refused file, an emptied option
box, the server gone, a phone's narrow screen), one test per fix. Screenshots are kept in
the test's tmp_path, or in $ZOO_ARTEFACTS when set (the path is printed).

Needs `pip install playwright` (the `test` extra) and `apt-get install -y chromium`
(`make test-slow` does both); never `playwright install`, which downloads its own browser.
Slow (six models load, about a minute on 2 cores): `make test-slow`.
"""
import datetime
import json
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


# ---- bad input and failures, as a person meets them (each test: one fix of the page) --------
@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH (apt-get install -y chromium; `make test-slow` does)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, server, width=1280, height=800):
    """A fresh page of the server, loaded; page.problems collects JavaScript errors and
    the console's errors and warnings."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("console", lambda m: m.type in ("error", "warning") and page.problems.append(m.text))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
    return page


def outcome(page, name):
    """Wait for the panel's run to end: its state and its error line."""
    css = f"section[data-model='{name}']"
    page.wait_for_function(f"['done', 'error'].includes(document.querySelector(\"{css}\")"
                           f".dataset.state)", timeout=TIMEOUT)
    panel = page.locator(css)
    state = panel.get_attribute("data-state")
    page.evaluate(f"document.querySelector(\"{css}\").dataset.state = ''")
    return state, panel.locator(".error").inner_text()


def test_page_fits_a_phone_and_loads_without_console_errors(server, chromium, artefacts):
    # A 480 px grid column ran past a 390 px screen's right edge (the page scrolled
    # sideways); /favicon.ico was a 404 in the console on every load.
    page = open_page(chromium, server, width=390, height=844)
    for name, button in [("ner-bilstm", "run"), ("forecast-lstm", "run"), ("caption-cnn-lstm", "example")]:
        page.locator(f"section[data-model='{name}'] button[name={button}]").click()
        assert outcome(page, name)[0] == "done"
    page.screenshot(path=str(artefacts / "phone.png"), full_page=True)
    width, screen = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= screen, f"the page is {width} px wide on a {screen} px screen"
    assert not page.problems, page.problems
    page.context.close()


def test_failed_upload_hides_the_last_answer_and_names_the_file(server, chromium, tmp_path):
    # After a refused file the previous image's caption stayed beside the error, read as
    # the answer for the new file; the error said "input 0", not which file.
    page = open_page(chromium, server)
    p = page.locator("section[data-model='caption-cnn-lstm']")
    p.locator("button[name=example]").click()
    assert outcome(page, "caption-cnn-lstm")[0] == "done" and p.locator(".caption").is_visible()
    (tmp_path / "notes.txt").write_text("not an image")
    p.locator("input[name=file]").set_input_files(str(tmp_path / "notes.txt"))
    state, error = outcome(page, "caption-cnn-lstm")
    assert state == "error" and error.startswith("notes.txt: ") and "not an image" in error, error
    assert not p.locator(".caption").is_visible() and not p.locator("img.picture").is_visible()
    p.locator("button[name=example]").click()           # the next try shows its answer again
    assert outcome(page, "caption-cnn-lstm") == ("done", "") and p.locator(".caption").is_visible()
    page.context.close()


def test_choosing_the_same_file_again_runs_again(server, chromium, data_dir):
    # The browser fires no change event for the file already chosen: a second choice of it
    # (after an error, a server restart) did nothing at all.
    page = open_page(chromium, server)
    p = page.locator("section[data-model='speech-ctc']")
    wav = data_dir / "fsdd" / "recordings" / "7_jackson_0.wav"
    for _ in range(2):
        with page.expect_file_chooser() as chooser:
            p.locator("input[name=file]").click()
        chooser.value.set_files(str(wav))
        assert outcome(page, "speech-ctc") == ("done", "")
    page.context.close()


def test_inputs_wait_while_a_run_is_busy(server, chromium, data_dir):
    # A second upload while the first ran raced it: whichever answer came last was shown.
    page = open_page(chromium, server)
    held = []
    page.route("**/*:plot", lambda route: held.append(route))      # answered below
    p = page.locator("section[data-model='caption-cnn-lstm']")
    p.locator("button[name=example]").click()
    page.wait_for_function("document.querySelector(\"section[data-model='caption-cnn-lstm']\")"
                           ".dataset.state === 'busy'")
    assert p.locator("input[name=file]").is_disabled() and p.locator("input[name=beam]").is_disabled()
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()
    assert outcome(page, "caption-cnn-lstm") == ("done", "")
    assert p.locator("input[name=file]").is_enabled()
    page.context.close()


def test_option_boxes_left_empty_or_not_a_number(server, chromium):
    # An emptied box was sent as 0 ("horizon ... got 0" for a box the person had cleared);
    # a number the browser cannot read (1e999) was sent as 0 too.
    page = open_page(chromium, server)
    p = page.locator("section[data-model='forecast-lstm']")
    p.locator("input[name=horizon]").fill("")                       # the model's default
    p.locator("button[name=run]").click()
    assert outcome(page, "forecast-lstm") == ("done", "")
    assert p.locator("table.table tr").count() == 11                # forecast-lstm: 10 days
    p.locator("input[name=horizon]").fill("1e999")
    p.locator("button[name=run]").click()
    assert outcome(page, "forecast-lstm") == ("error", "horizon: not a number; expected e.g. 10")
    page.context.close()


def test_network_failures_and_foreign_answers_are_said_in_words(server, chromium):
    # A stopped server showed "Failed to fetch"; a proxy's HTML page showed "HTTP 502", or,
    # with a 200, "Cannot read properties of undefined (reading '0')".
    page = open_page(chromium, server)
    p = page.locator("section[data-model='ner-bilstm']")
    answers = {"abort": None, 502: "<html>Bad Gateway</html>", 200: "<html>Sign in</html>"}
    expected = {"abort": "cannot reach the server (", 502: "the server answered HTTP 502 ",
                200: "the server answered HTTP 200 OK, not the zoo's JSON"}
    for key, body in answers.items():
        page.route("**/*:plot", lambda route: route.abort("connectionrefused") if body is None
                   else route.fulfill(status=key, content_type="text/html", body=body))
        p.locator("button[name=run]").click()
        state, error = outcome(page, "ner-bilstm")
        assert state == "error" and error.startswith(expected[key]), (key, error)
        page.unroute("**/*:plot")
    p.locator("button[name=run]").click()                       # the server back: it recovers
    assert outcome(page, "ner-bilstm") == ("done", "")
    page.context.close()


def test_model_list_failures_and_failed_models_say_why(server, chromium):
    # The page said only "NAME failed to load" (/v1/models had no reason); a non-JSON model
    # list showed the JSON parser's "Unexpected token '<'".
    page = chromium.new_page()
    models = server.get("/v1/models").json()["models"]
    models.append({**models[0], "name": "broken", "state": "FAILED",
                   "error": "broken/model.keras: cannot load (OSError: truncated)"})
    page.route("**/v1/models", lambda route: route.fulfill(json={"models": models}))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
    failed = page.locator("section.panel.failed")
    assert failed.locator("h2").inner_text() == "broken: failed to load"
    assert failed.locator("[role=alert]").inner_text() == \
        "broken/model.keras: cannot load (OSError: truncated)"
    page.unroute("**/v1/models")
    page.route("**/v1/models", lambda route: route.fulfill(status=502, body="<html>502</html>"))
    page.goto(server.url + "/")
    page.wait_for_selector("#panels p.error")
    assert page.locator("#panels").inner_text().startswith(
        "cannot list the models: the server answered HTTP 502")
    page.close()


def test_json_panel_names_bad_json(server, chromium):
    # The JSON panel (tasks without a panel of their own) showed only the parser's
    # "Unexpected end of JSON input"; its empty output box was a grey bar before a run.
    page = chromium.new_page()
    models = server.get("/v1/models").json()["models"]
    models = [{**models[0], "name": "some-lm", "task": "a new task", "example": "ROMEO:"}]
    page.route("**/v1/models", lambda route: route.fulfill(json={"models": models}))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
    p = page.locator("section[data-model='some-lm']")
    assert json.loads(p.locator("textarea").input_value()) == ["ROMEO:"]
    assert not p.locator("pre.json").is_visible()
    p.locator("textarea").fill('["ROMEO:"')
    p.locator("button[name=run]").click()
    state, error = outcome(page, "some-lm")
    assert state == "error" and error.startswith("instances: not JSON (") and \
        error.endswith('expected a JSON list, e.g. ["text"]'), error
    page.close()


def test_microphone_errors_say_it_is_the_microphone(server, chromium):
    # Without a microphone the page said only "Requested device not found".
    page = open_page(chromium, server)          # no fake device: this browser has none
    p = page.locator("section[data-model='speech-ctc']")
    p.locator("button[name=record]").click()
    page.wait_for_function("document.querySelector(\"section[data-model='speech-ctc'] .error\")"
                           ".textContent")
    assert p.locator(".error").inner_text().startswith("microphone: ")
    assert p.locator("button[name=record]").inner_text() == "● Record"
    page.context.close()


def test_text_generation_panel_shows_the_text(server, chromium):
    # charlm-lstm had the JSON panel: its text one JSON string ("\\nWhat's...") cut at the
    # panel's edge, and no box for the length, temperature or seed.
    page = chromium.new_page()
    models = server.get("/v1/models").json()["models"]
    models = [{**models[0], "name": "some-lm", "task": "text generation", "example": "ROMEO:",
               "options": {"steps": 100, "temperature": 0.8, "seed": 0}}]
    page.route("**/v1/models", lambda route: route.fulfill(json={"models": models}))
    sent = []
    page.route("**/some-lm:plot", lambda route: sent.append(route.request.post_data_json) or
               route.fulfill(json={"predictions": [{"text": "\nWhat's " + "here " * 60 + "\nthere",
                                                     "nats_per_char": 0.7}]}))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
    p = page.locator("section[data-model='some-lm']")
    p.locator("input[name=steps]").fill("300")
    p.locator("button[name=run]").click()
    assert outcome(page, "some-lm") == ("done", "")
    assert sent == [{"instances": ["ROMEO:"], "parameters": {"steps": 300, "temperature": 0.8, "seed": 0}}]
    text = p.locator(".generated")
    assert text.inner_text().startswith("ROMEO:\nWhat's here") and text.inner_text().endswith("\nthere")
    assert text.evaluate("e => e.scrollWidth <= e.clientWidth"), "the text runs past the panel"
    page.close()


def test_keyboard_enter_runs_again_and_a_slow_run_says_so(server, chromium):
    # Enter on a panel's button ran it once: the button, disabled while busy, lost the
    # focus to the page, so Enter again did nothing. A slow run showed only a greyed button.
    page = open_page(chromium, server)
    held = []
    page.route("**/*:plot", lambda route: held.append(route))
    p = page.locator("section[data-model='ner-bilstm']")
    p.locator("button[name=run]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector(\"section[data-model='ner-bilstm'] .status\")"
                           ".textContent.startsWith('working… ')")
    held[0].continue_()
    assert outcome(page, "ner-bilstm") == ("done", "") and not p.locator(".status").inner_text()
    page.unroute("**/*:plot")
    page.keyboard.press("Enter")
    assert outcome(page, "ner-bilstm") == ("done", "")
    page.context.close()


def test_empty_and_too_large_files_are_refused_before_sending(server, chromium, tmp_path):
    # A 0-byte file got the decoder's words ("Format not recognised.", MIDI's "EOFError: "); a
    # 50 MB one was read, sent as 67 MB of base64 and refused as a "request body of 69,905,122
    # bytes". A bad MIDI primer's error did not name the file, as the other pickers' do.
    page = open_page(chromium, server)
    sent = []
    page.on("request", lambda r: r.method == "POST" and sent.append(r.url))
    (tmp_path / "empty.wav").write_bytes(b"")
    with open(tmp_path / "big.png", "wb") as f:
        f.truncate(13 << 20)                          # the server takes 16 MB of base64
    (tmp_path / "song.mid").write_text("not a MIDI file")
    for name, file, expected in [
            ("speech-ctc", "empty.wav", "empty.wav: the file is empty (0 bytes)"),
            ("caption-cnn-lstm", "big.png", "big.png: 13.0 MB; this server takes files up to "
                                            "12.0 MB (zoo serve --max-body-mb)")]:
        page.locator(f"section[data-model='{name}'] input[name=file]").set_input_files(str(tmp_path / file))
        assert outcome(page, name) == ("error", expected)
    assert not sent, sent
    p = page.locator("section[data-model='music-lstm']")
    p.locator("input[name=file]").set_input_files(str(tmp_path / "song.mid"))
    p.locator("button[name=run]").click()
    state, error = outcome(page, "music-lstm")
    assert state == "error" and error.startswith("song.mid: ") and "MIDI" in error, error
    page.context.close()


def test_entities_after_an_emoji_are_highlighted_whole(server, chromium):
    # The server's start/end count characters, the page sliced UTF-16 units: each emoji
    # before an entity moved its highlight one place left ("\ude00 Angela Merk", "n Par").
    page = open_page(chromium, server)
    p = page.locator("section[data-model='ner-bilstm']")
    p.locator("textarea").fill("😀😀 Angela Merkel met Emmanuel Macron in Paris .")
    p.locator("button[name=run]").click()
    assert outcome(page, "ner-bilstm") == ("done", "")
    assert p.locator("mark.ent").evaluate_all("ms => ms.map(m => m.firstChild.textContent)") == \
        ["Angela Merkel", "Emmanuel Macron", "Paris"]
    assert p.locator(".entities").inner_text().startswith("😀😀 Angela Merkel")
    page.context.close()


def test_speech_shows_the_servers_doubt(server, chromium, data_dir):
    # An English sentence through the digits model showed "4 2 2 0 8 ..." as the answer: the
    # server's warning ("probably not spoken digits") and its confidence were not shown.
    page = open_page(chromium, server)
    p = page.locator("section[data-model='speech-ctc']")
    wav = sorted((data_dir / "ljspeech_sample" / "wavs").glob("*.wav"))[0]
    p.locator("input[name=file]").set_input_files(str(wav))
    assert outcome(page, "speech-ctc") == ("done", "")
    assert "probably not spoken digits" in p.locator(".warning").inner_text()
    assert "confidence " in p.locator(".note").inner_text()
    p.locator("button[name=example]").click()                   # a digit: no warning left over
    assert outcome(page, "speech-ctc") == ("done", "") and not p.locator(".warning").is_visible()
    page.context.close()


def test_a_long_word_wraps_inside_its_panel(server, chromium):
    # 300 x's to the NER tagger made the page 3,000 px wide (sideways scrolling on a phone).
    page = open_page(chromium, server, width=375, height=812)
    p = page.locator("section[data-model='ner-bilstm']")
    p.locator("textarea").fill("Paris " + "x" * 300 + " Angela Merkel .")
    p.locator("button[name=run]").click()
    assert outcome(page, "ner-bilstm") == ("done", "")
    width, screen = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= screen, f"the page is {width} px wide on a {screen} px screen"
    page.context.close()


def test_markup_from_the_server_or_a_file_name_shows_as_text(chromium, tmp_path):
    # No zoo server: Playwright answers with the page's own files and JSON whose every
    # string is markup (a bundle's summary, a load error, entity types and tokens, a
    # caption, a refused file's name). Each must show as text and none may run; the
    # page's Content-Security-Policy must let its own script run, with no violation.
    web = Path(__file__).parent.parent / "zoo" / "web"
    evil = "<img src=x onerror=\"window.pwned=1\">"
    base = {"task": "ner", "backend": "keras", "summary": evil, "state": "AVAILABLE",
            "options": {}, "option_bounds": {}, "draws": True, "example": evil}
    models = [{**base, "name": "ner-bilstm"},
              {**base, "name": "caption-cnn-lstm", "task": "captioning", "example": None},
              {**base, "name": "broken", "state": "FAILED", "error": evil}]
    ner = {"predictions": [{"entities": [{"start": 0, "end": 4, "text": evil, "type": evil,
                                          "confidence": 0.9}]}]}

    def answer(route):
        path = route.request.url.split("127.0.0.1:9", 1)[1]
        if path == "/" or path.startswith("/web/"):
            name = "index.html" if path == "/" else path[len("/web/"):]
            kind = {"html": "text/html", "js": "text/javascript", "css": "text/css"}
            route.fulfill(path=web / name, content_type=kind[name.rsplit(".", 1)[1]])
        elif path == "/v1/models":
            route.fulfill(json={"models": models})
        elif path == "/v1/models/ner-bilstm:plot":
            route.fulfill(json=ner)
        else:
            route.fulfill(status=400, json={"error": evil})

    page = chromium.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.route("http://127.0.0.1:9/**", answer)
    page.goto("http://127.0.0.1:9/")
    page.wait_for_selector("body[data-ready=true]", timeout=10_000)
    ner_panel = page.locator("section[data-model='ner-bilstm']")
    ner_panel.locator("button[name=run]").click()
    page.wait_for_function("document.querySelector(\"section[data-model='ner-bilstm']\")"
                           ".dataset.state === 'done'", timeout=10_000)
    (tmp_path / f"{evil}.png").write_bytes(b"\x89PNG")       # a file name is markup too
    cap = page.locator("section[data-model='caption-cnn-lstm']")
    cap.locator("input[name=file]").set_input_files(str(tmp_path / f"{evil}.png"))
    page.wait_for_function("document.querySelector(\"section[data-model='caption-cnn-lstm']\")"
                           ".dataset.state === 'error'", timeout=10_000)
    assert ner_panel.locator(".about").inner_text() == f"ner · keras · {evil}"
    assert evil in ner_panel.locator(".entities").inner_text()
    assert ner_panel.locator("table").inner_text().count(evil) == 2
    assert page.locator("section.panel.failed [role=alert]").inner_text() == evil
    assert cap.locator(".error").inner_text() == f"{evil}.png: {evil}"
    assert page.locator("#panels img:not(.picture):not(.preview)").count() == 0
    assert page.evaluate("window.pwned") is None
    assert not [m for m in problems if "status of 400" not in m], problems
    # Were markup ever inserted as HTML, the policy keeps its handler from running.
    page.evaluate(f"document.body.insertAdjacentHTML('beforeend', {json.dumps(evil)})")
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    assert any("Content Security Policy" in m for m in problems), problems
    page.close()


WEB = Path(__file__).resolve().parents[1] / "zoo" / "web"


def test_page_source_keeps_what_a_screen_reader_needs():
    # Read from the files (no browser): the language, the live regions and a focus ring the
    # dark header does not hide (the browser's near-black ring was 1.2:1 on #1d2330), and
    # buttons that keep an edge in Windows' high-contrast colours (border 0: plain text).
    html, js, css = ((WEB / n).read_text() for n in ("index.html", "app.js", "style.css"))
    assert '<html lang="en">' in html and 'aria-busy="true"' in html
    assert '"aria-live": "polite"' in js and 'role: "alert"' in js and 'role: "status"' in js
    assert "header a:focus-visible { outline-color: #9cc3ff; }" in css
    assert "@media (forced-colors: active) { button { border: 1px solid ButtonText; } }" in css
    # every picture an answer draws gets alt text that says what it shows, not "fan chart"
    assert js.count('".picture").src = out.picture;') == js.count('".picture").alt = ') == 5


def test_keyboard_and_screen_reader_semantics(server, chromium, tmp_path):
    # Nobody had checked the page for a screen reader: its title said "rnn-zoo" whatever it
    # served, panels were not landmarks, an answer was never announced (no live region) while
    # "working… N s" was re-read every second, empty paragraphs and a table of no rows were
    # read before the first answer, an error was not tied to its field, the pictures' alt
    # text did not say what they showed, and the header's links had an unseen focus ring.
    page = open_page(chromium, server)
    assert page.title() == ", ".join(MODELS) + " · rnn-zoo"
    assert page.locator("main").get_attribute("aria-busy") is None
    ner = page.get_by_role("region", name="ner-bilstm")
    assert "table" not in ner.aria_snapshot()
    assert ner.locator(".out").evaluate("o => o.parentNode.getAttribute('aria-live')") == "polite"
    # Tab from the top: the header's links with a visible ring, then the NER panel's box and button.
    page.keyboard.press("Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineColor") == "rgb(156, 195, 255)"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "text"
    page.keyboard.press("Tab")
    held = []
    page.route("**/*:plot", lambda route: held.append(route))
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector(\"section[data-model='ner-bilstm'] .status\")"
                           ".textContent.startsWith('working… ')")
    assert ner.get_by_role("status").aria_snapshot() == '- status: working…'
    held[0].continue_()
    page.unroute("**/*:plot")
    assert outcome(page, "ner-bilstm") == ("done", "")
    assert "cell \"EU\"" in ner.aria_snapshot() and page.evaluate("document.activeElement.name") == "run"
    # A bad option: the field is invalid and its error is what describes it, until a good run.
    cap = page.get_by_role("region", name="caption-cnn-lstm")
    beam = cap.get_by_role("spinbutton", name="beam")
    beam.fill("")
    beam.type("e")
    cap.get_by_role("button", name="Example").press("Enter")
    assert outcome(page, "caption-cnn-lstm")[0] == "error"
    assert beam.get_attribute("aria-invalid") == "true"
    assert page.locator("#" + beam.get_attribute("aria-describedby")).inner_text() == \
        "beam: not a number; expected e.g. 3"
    beam.fill("2")
    cap.get_by_role("button", name="Example").press("Enter")
    assert outcome(page, "caption-cnn-lstm") == ("done", "")
    assert beam.get_attribute("aria-invalid") is None
    caption = cap.locator(".caption").inner_text().split(" (confidence")[0]
    assert cap.locator(".picture").get_attribute("alt") == \
        f'where the model looked in the image for each word of "{caption}"'
    page.context.close()


def test_file_upload_from_the_keyboard(server, chromium, data_dir, tmp_path):
    # The file picker opened with Space but not with Enter (Chromium's way, though a screen
    # reader calls it a button); a refused file now marks the picker as the field at fault.
    page = open_page(chromium, server)
    # Playwright turns the interception of pickers on without waiting: on before the key.
    page.on("filechooser", lambda chooser: None)
    page.evaluate("0")
    speech = page.get_by_role("region", name="speech-ctc")
    picker = speech.locator("input[name=file]")
    picker.focus()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(data_dir / "fsdd" / "recordings" / "7_jackson_0.wav"))
    assert outcome(page, "speech-ctc") == ("done", "")
    assert speech.locator(".picture").get_attribute("alt").startswith("spectrogram of the audio, with ")
    assert speech.get_by_role("button", name="Record").get_attribute("aria-pressed") == "false"
    (tmp_path / "empty.wav").write_bytes(b"")
    picker.focus()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(tmp_path / "empty.wav"))
    assert outcome(page, "speech-ctc") == ("error", "empty.wav: the file is empty (0 bytes)")
    assert picker.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.name") == "file"
    page.context.close()


def test_the_models_warnings_show_under_the_answer(server, chromium):
    # What the model warns of in the input (X-Zoo-Warnings) reached only the server's log:
    # weekly closes were forecast as daily ones, HTML read as words, with no word on the
    # page. Run from the keyboard at a phone's 360 px; a warning quoting markup is text.
    page = open_page(chromium, server, width=360, height=800)
    ner = page.get_by_role("region", name="ner-bilstm")
    ner.locator("textarea").fill("<b>Angela Merkel</b> met <img src=x onerror=window.pwned=1> in Paris .")
    ner.locator("textarea").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert outcome(page, "ner-bilstm") == ("done", "")
    said = ner.get_by_role("list", name="warnings")
    assert said.locator("li").all_inner_texts() == [
        "input 0: holds HTML ('<b>'), read as words; give plain text (html.unescape, tags removed)"]
    assert said.locator("*:not(li)").count() == 0 and page.evaluate("window.pwned") is None
    assert said.is_visible() and page.evaluate("document.activeElement.name") == "run"
    width, screen = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= screen, f"the page is {width} px wide on a {screen} px screen"
    page.keyboard.press("Shift+Tab")                    # plain text: no warning left over
    page.keyboard.press("Control+A")
    page.keyboard.type("Angela Merkel met Emmanuel Macron in Paris .")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert outcome(page, "ner-bilstm") == ("done", "") and not said.is_visible()
    assert said.locator("li").count() == 0
    # weekly closes pasted into the forecast panel: the warning, above the fan chart
    friday = datetime.date(2020, 1, 3)
    csv = "date,close\n" + "\n".join(f"{friday + datetime.timedelta(weeks=k)},{100 + k % 7}"
                                     for k in range(80))
    forecast = page.get_by_role("region", name="forecast-lstm")
    forecast.locator("textarea").fill(csv)
    forecast.get_by_role("button", name="Forecast").press("Enter")
    assert outcome(page, "forecast-lstm") == ("done", "")
    (text,) = forecast.get_by_role("list", name="warnings").locator("li").all_inner_texts()
    assert text.startswith("input 0 (series 0): the dates are weekly"), text
    assert forecast.locator(".warnings + img.picture").count() == 1
    assert not page.problems, page.problems
    page.context.close()


def test_several_warnings_each_on_its_own_line(server, chromium):
    # one line each (warnings hold commas; one header a warning was joined with ", " by
    # fetch), JSON's escapes shown as the characters, and not a header that is no list
    page = open_page(chromium, server)
    said = json.dumps(["input 0 (Soci\xe9t\xe9, G\u0117n): the dates are weekly, one row a week",
                       "input 0 (Soci\xe9t\xe9, G\u0117n): the close moved -50%",
                       "2 more warnings (the server log has them)"])
    page.route("**/ner-bilstm:plot", lambda route: route.fulfill(
        json={"predictions": [{"entities": []}]}, headers={"X-Zoo-Warnings": said}))
    p = page.locator("section[data-model='ner-bilstm']")
    p.locator("button[name=run]").click()
    assert outcome(page, "ner-bilstm") == ("done", "")
    assert p.locator(".warnings li").all_inner_texts() == [
        "input 0 (Société, Gėn): the dates are weekly, one row a week",
        "input 0 (Société, Gėn): the close moved -50%",
        "2 more warnings (the server log has them)"]
    page.context.close()


def test_a_full_queue_says_busy_and_retries_once(server, chromium):
    # A 503 of a full queue (--max-queue) was shown as an error, as if the input were at
    # fault: the page says it is busy, waits Retry-After and tries once more, never in a
    # loop; a second 503 is the error, and a Retry-After too long to wait is not waited for.
    # From the keyboard, on a phone's 360 px.
    page = open_page(chromium, server, width=360, height=800)
    p = page.locator("section[data-model='ner-bilstm']")
    sent, full = [], "ner-bilstm has 64 requests waiting (--max-queue 64); try again shortly"

    def answer(busy, wait="1"):
        def handle(route):
            sent.append(route.request.post_data_json)
            if len(sent) <= busy:
                route.fulfill(status=503, json={"error": full}, headers={"Retry-After": wait})
            else:
                route.continue_()
        page.unroute("**/*:plot")
        page.route("**/*:plot", handle)
        sent.clear()

    answer(busy=1)
    p.locator("button[name=run]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector(\"section[data-model='ner-bilstm'] .status\")"
                           ".textContent === 'busy, retrying in 1 s'")
    assert p.get_by_role("status").inner_text() == "busy, retrying in 1 s"
    width, screen = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= screen, f"the page is {width} px wide on a {screen} px screen"
    assert outcome(page, "ner-bilstm") == ("done", "") and len(sent) == 2 and sent[0] == sent[1]
    assert p.locator("mark.ent").count() and not p.locator(".status").inner_text()
    assert page.evaluate("document.activeElement.name") == "run"
    answer(busy=5)                                      # still full: one retry, then the error
    p.locator("button[name=run]").click()
    assert outcome(page, "ner-bilstm") == ("error", f"{full} (tried again after 1 s)")
    page.wait_for_timeout(1500)
    assert len(sent) == 2 and not p.locator(".out").is_visible()
    # an hour: not waited for; "1.5" and "-5" (not seconds, nor a date: Date.parse read them
    # as days of 2001, long past) not retried at once
    for wait in ["3600", "1.5", "-5"]:
        answer(busy=5, wait=wait)
        p.locator("button[name=run]").click()
        assert outcome(page, "ner-bilstm") == ("error", full) and len(sent) == 1, wait
    page.unroute("**/*:plot")
    page.context.close()
