// rnn-zoo's web page: one panel per loaded model (GET /v1/models). Each panel sends the
// task's raw input as JSON to its model's :plot route, which answers with the same
// predictions as :predict plus a picture (zoo/webio.py). Plain JS, no build step.
// A panel's data-state is "busy", "done" or "error" (the browser test waits on it).
"use strict";

const $ = (root, selector) => root.querySelector(selector);

// A request's JSON answer. What a person sees on failure is one line: the zoo's message, or
// what went wrong in words ("Failed to fetch", a JSON parser's "Unexpected token '<'" or an
// exception further on for a proxy's HTML page said nothing useful). -> {out, r}; an error
// carries its response (r), for its status and headers.
async function answer(url, options) {
  let r;
  try {
    r = await fetch(url, options);
  } catch (e) {                     // no answer at all: the server stopped, or the network
    throw new Error(`cannot reach the server (${e.message}); is zoo serve still running?`);
  }
  const out = await r.json().catch(() => null);
  if (out && out.error) throw Object.assign(new Error(out.error), {r});  // the zoo's one line
  if (!r.ok || out === null || typeof out !== "object") {
    throw Object.assign(new Error(`the server answered HTTP ${r.status} ${r.statusText}`.trim()
                                  + (out === null ? ", not the zoo's JSON (a proxy in between?)" : "")), {r});
  }
  return {out, r};
}

async function fetchJSON(url, options) { return (await answer(url, options)).out; }

// A 503 with Retry-After (--max-queue requests already waiting, or the model still loading):
// the seconds to wait before the one retry, or null (another error, or too long to wait here).
const MAX_RETRY_S = 30;
function retryAfter(r) {
  const value = r && r.status === 503 ? r.headers.get("Retry-After") : null;
  if (value == null) return null;
  // seconds, or an HTTP date (RFC 9110: "... GMT"); Date.parse alone read "1.5" and "-5"
  // as days of 2001, long past: a retry at once.
  const s = /^\s*\d+\s*$/.test(value) ? Number(value)
    : /GMT\s*$/.test(value) ? (Date.parse(value) - Date.now()) / 1000 : NaN;
  return Number.isFinite(s) && s <= MAX_RETRY_S ? Math.max(0, Math.ceil(s)) : null;
}

// What the model warned of in the input: the X-Zoo-Warnings header, a JSON list of texts
// (a header that is no list of strings, from a proxy, say, is ignored).
function warnings(r) {
  try {
    const said = JSON.parse(r.headers.get("X-Zoo-Warnings") || "[]");
    return Array.isArray(said) ? said.filter(w => typeof w === "string") : [];
  } catch (e) {
    return [];
  }
}

// A panel's request to its model. What the model warns of is listed under the answer (it
// reached only the server's log: weekly closes forecast as daily, a document cut short,
// with no word on the page). A full queue's 503 was shown as an error, as if the input
// were at fault: the page says it is busy, waits Retry-After (at most MAX_RETRY_S) and tries
// once more, never in a loop; a second failure is shown as the error it is.
async function call(p, method, body) {
  const url = `/v1/models/${encodeURIComponent(p.dataset.model)}:${method}`;
  const options = {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  let got;
  try {
    got = await answer(url, options);
  } catch (e) {
    const wait = retryAfter(e.r);
    if (wait === null) throw e;
    const status = $(p, ".status");
    status.textContent = `busy, retrying in ${wait} s`;
    await new Promise(resolve => setTimeout(resolve, wait * 1000));
    status.replaceChildren();           // "working… N s" again, at the next tick
    got = await answer(url, options).catch(again => {
      throw again.r && again.r.status === 503
        ? new Error(`${again.message} (tried again after ${wait} s)`) : again;
    });
  }
  $(p, ".warnings").replaceChildren(...warnings(got.r).map(w => el("li", {}, w)));
  return got.out;
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function toBase64(bytes) {          // Uint8Array -> base64, in chunks (no call-stack limit)
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// The largest request body the server takes (GET /v1/models says; undefined: not said).
let maxBody;
const mb = n => `${(n / (1 << 20)).toFixed(1)} MB`;

function readFile(file) {           // -> {b64, url}: the bytes for JSON, a data URL to show
  // Refused here, before the bytes are read: an empty file got the decoder's words
  // ("Format not recognised.", "EOFError: "), and a 50 MB one was read, sent as 67 MB of
  // base64 and refused as a "request body of 69,905,148 bytes", a size the person never saw.
  if (file.size === 0) return Promise.reject(new Error("the file is empty (0 bytes)"));
  const largest = maxBody && Math.floor((maxBody - 4096) * 3 / 4);   // base64: 4 bytes per 3
  if (largest && file.size > largest) {
    return Promise.reject(new Error(`${mb(file.size)}; this server takes files up to `
                                    + `${mb(largest)} (zoo serve --max-body-mb)`));
  }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({url: reader.result, b64: reader.result.split(",")[1]});
    reader.onerror = () => reject(new Error(`cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

// An option's number; an empty box is the model's default (undefined: left out of the JSON).
// Number("") was 0, refused as "got 0" for a box the person had cleared.
function number(panel, name) {
  const input = $(panel, `[name=${name}]`);
  if (input.validity.badInput) {
    throw Object.assign(new Error(`${name}: not a number; expected e.g. ${input.defaultValue}`), {field: input});
  }
  return input.value === "" ? undefined : Number(input.value);
}
// The server sends null for NaN and infinities (JSON has no words for them).
function fixed(x, digits) { return x == null ? "n/a" : x.toFixed(digits); }

// A file input that runs the panel when a file is chosen. Choosing the same file again fires
// no change event (the page did nothing, e.g. after an error): the input is emptied as the
// picker opens.
function upload(input, go) {
  input.onclick = () => { input.value = ""; };
  input.onchange = () => input.files[0] && go({file: input.files[0]});
}

// What Enter does in a panel (there is no <form>, so the browser did nothing): "open" a
// file picker (Chromium opens it on Space only, though a screen reader calls it a button;
// music's primer picker had no Enter at all), "run" the panel from an option box or a
// checkbox (Enter in "horizon" or "beam" did nothing), or from a text box with Ctrl/Cmd
// held (Enter alone is a new line there); null: the browser's own (a button clicks itself).
function enterKey(e, target, canRun) {
  if (e.key !== "Enter" || e.isComposing || e.altKey || e.shiftKey) return null;
  if (target.tagName === "INPUT" && target.type === "file") return "open";
  const runs = target.tagName === "INPUT" || (target.tagName === "TEXTAREA" && (e.ctrlKey || e.metaKey));
  return runs && canRun ? "run" : null;
}

// The host's doubt of an answer (speech, captioning), under it: "Warning:" says what it is
// (it was told from the answer's notes by its brown colour alone, and not to a screen reader).
function warning(p, text) {
  $(p, ".warning").replaceChildren(...(text ? [el("strong", {}, "Warning: "), text] : []));
}

function table(node, head, rows) {
  node.replaceChildren(el("tr"));
  head.forEach(h => node.firstChild.append(el("th", {}, h)));
  for (const row of rows) {
    const tr = el("tr");
    row.forEach(c => tr.append(el("td", {}, String(c))));
    node.append(tr);
  }
}

// ---- microphone: PCM from Web Audio, written as a 16-bit WAV the speech host reads ----------
function wav(samples, rate) {
  const v = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const put = (at, s) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  put(0, "RIFF"); v.setUint32(4, 36 + samples.length * 2, true); put(8, "WAVEfmt ");
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
  v.setUint16(34, 16, true); put(36, "data"); v.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => v.setInt16(44 + 2 * i, Math.max(-1, Math.min(1, s)) * 0x7fff, true));
  return new Uint8Array(v.buffer);
}

// An AudioWorklet posts each 128-sample block of the first channel to the page (the
// ScriptProcessorNode it replaces is deprecated); a Blob URL keeps it in this one file.
const RECORDER = `registerProcessor("zoo-recorder", class extends AudioWorkletProcessor {
  process(inputs) { if (inputs[0][0]) this.port.postMessage(inputs[0][0].slice()); return true; }
});`;

async function record() {           // starts recording; returns stop() -> WAV bytes
  if (!navigator.mediaDevices) throw new Error("the microphone needs https or localhost");
  const stream = await navigator.mediaDevices.getUserMedia({audio: true})
    .catch(e => { throw new Error(`microphone: ${e.message}`); });
  const ctx = new AudioContext();
  const url = URL.createObjectURL(new Blob([RECORDER], {type: "text/javascript"}));
  await ctx.audioWorklet.addModule(url).finally(() => URL.revokeObjectURL(url));
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, "zoo-recorder");
  const chunks = [];
  node.port.onmessage = e => chunks.push(e.data);
  source.connect(node);
  node.connect(ctx.destination);     // its output is silence; connected, it keeps being run
  return async () => {
    source.disconnect(); node.disconnect(); node.port.onmessage = null;
    stream.getTracks().forEach(t => t.stop());
    const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) { all.set(c, at); at += c.length; }
    await ctx.close();
    return wav(all, ctx.sampleRate);
  };
}

// ---- one kind of panel per task: setup(panel, model, go), run(panel, model, input) ---------
const PANELS = {
  ner: {
    setup(p, m) { $(p, "[name=text]").value = m.example || ""; },
    async run(p, m) {
      const text = $(p, "[name=text]").value;
      const out = await call(p, "plot", {instances: [text]});
      const entities = out.predictions[0].entities;   // each with its confidence
      const line = $(p, ".entities");
      line.replaceChildren();
      // start and end count characters (Python's code points), not JavaScript's UTF-16
      // units: each emoji before an entity moved its highlight one place left, cut in two.
      const chars = Array.from(text), slice = (a, b) => chars.slice(a, b).join("");
      let at = 0;
      entities.forEach(e => {
        line.append(slice(at, e.start));
        const mark = el("mark", {class: `ent ent-${e.type}`, title: `${e.type}, confidence ${e.confidence}`},
                        slice(e.start, e.end));
        // A type a fine-tune added (PRODUCT) has no colour in style.css: one from its name,
        // light as the others, rather than the browser's yellow for every new type.
        if (!["PER", "LOC", "ORG", "MISC"].includes(e.type)) {
          const hue = [...e.type].reduce((h, c) => (h * 31 + c.codePointAt(0)) % 360, 7);
          mark.style.background = `hsl(${hue} 80% 88%)`;
        }
        mark.append(el("sup", {}, `${e.type} ${Math.round(100 * e.confidence)}%`));
        line.append(mark);
        at = e.end;
      });
      line.append(slice(at));
      table($(p, ".table"), ["entity", "type", "confidence"],
            entities.map(e => [e.text, e.type, fixed(e.confidence, 3)]));
    },
  },
  summarization: {
    setup(p, m) { $(p, "[name=text]").value = m.example || ""; },
    async run(p, m) {
      const out = await call(p, "plot", {instances: [$(p, "[name=text]").value],
                                              parameters: {beam: number(p, "beam")}});
      $(p, ".summary").textContent = out.predictions[0].summary;
      $(p, ".picture").src = out.picture;
      $(p, ".picture").alt = `which words of the document each word of the summary "${out.predictions[0].summary}" attended to`;
    },
  },
  forecasting: {
    setup(p, m) {
      if (m.example) $(p, "[name=csv]").value = m.example.csv;
    },
    async run(p, m) {
      const out = await call(p, "plot", {instances: [{csv: $(p, "[name=csv]").value}],
                                              parameters: {horizon: number(p, "horizon")}});
      table($(p, ".table"), ["date", "median", "80 % interval"], out.predictions[0].map(
        r => [r.date.slice(0, 10), fixed(r.forecast, 2), `${fixed(r["q0.1"], 2)} – ${fixed(r["q0.9"], 2)}`]));
      $(p, ".picture").src = out.picture;
      const days = out.predictions[0];
      $(p, ".picture").alt = `fan chart: the closing prices so far, then the median forecast and its bands for ${days.length} days, to ${fixed(days[days.length - 1].forecast, 2)} on ${days[days.length - 1].date.slice(0, 10)}`;
    },
  },
  music: {
    setup(p, m) { if (!m.example) $(p, "[name=example]").parentNode.hidden = true; },
    async run(p, m, input) {
      const file = input.file = $(p, "[name=file]").files[0];   // its errors name it
      const primer = file ? {b64: (await readFile(file)).b64}
        : $(p, "[name=example]").checked ? m.example : null;
      const out = await call(p, "plot", {instances: [primer], parameters: {
        steps: number(p, "steps"), temperature: number(p, "temperature"), seed: number(p, "seed")}});
      const r = out.predictions[0];
      $(p, ".summary").textContent = (r.steps ? `${r.steps} primer steps (NLL ${fixed(r.nll_per_step, 2)} nats/step), ` : "")
        + `${r.generated.length} steps generated`;
      $(p, ".picture").src = out.picture;
      $(p, ".picture").alt = `piano roll of the piece: ${$(p, ".summary").textContent}`;
      const link = $(p, ".midi");
      link.href = out.midi;
      link.hidden = false;
    },
  },
  speech: {
    setup(p, m, go) {
      upload($(p, "[name=file]"), go);
      const example = $(p, "[name=example]");
      if (m.example) example.onclick = () => go({instance: m.example}); else example.hidden = true;
      let stop = null;
      const button = $(p, "[name=record]");
      button.onclick = async () => {
        if (!stop) {
          try { stop = await record(); } catch (e) { $(p, ".error").textContent = e.message; return; }
          // The symbol is not read ("black square"); aria-pressed says it is recording.
          button.replaceChildren(el("span", {"aria-hidden": "true"}, "■"), " Stop");
          button.classList.add("recording"); button.setAttribute("aria-pressed", "true");
        } else {
          const bytes = await stop();
          stop = null;
          button.replaceChildren(el("span", {"aria-hidden": "true"}, "●"), " Record");
          button.classList.remove("recording"); button.setAttribute("aria-pressed", "false");
          go({instance: {b64: toBase64(bytes)}});
        }
      };
    },
    async run(p, m, input) {
      const instance = input.instance || {b64: (await readFile(input.file)).b64};
      const out = await call(p, "plot", {instances: [instance], parameters: {beam: number(p, "beam")}});
      const r = out.predictions[0];
      $(p, ".transcript").textContent = r.text || "(nothing heard)";
      $(p, ".note").textContent = [r.seconds != null && `${r.seconds} s of audio`,
                                   r.confidence != null && `confidence ${r.confidence}`].filter(Boolean).join(" · ");
      // The host's doubt, as captioning's: 33 digits read from an English sentence were
      // shown as the answer, without the server's "probably not spoken digits".
      warning(p, r.warning);
      $(p, ".picture").src = out.picture;
      // What the picture shows, for whoever cannot see it (was "spectrogram and alignment").
      $(p, ".picture").alt = `spectrogram of the audio, with where each character of "${r.text || "(nothing heard)"}" was heard`;
    },
  },
  captioning: {
    setup(p, m, go) {
      upload($(p, "[name=file]"), go);
      const example = $(p, "[name=example]");
      if (m.example) example.onclick = () => go({url: m.example}); else example.hidden = true;
    },
    async run(p, m, input) {
      const url = input.url || (await readFile(input.file)).url;
      $(p, ".preview").src = url;
      $(p, ".preview").alt = input.file ? `the image sent: ${input.file.name}` : "the example image";
      const out = await call(p, "plot", {instances: [url], parameters: {beam: number(p, "beam")}});
      const r = out.predictions[0];
      $(p, ".caption").textContent = r.caption + (r.confidence != null ? ` (confidence ${r.confidence})` : "");
      warning(p, r.warning);
      $(p, ".picture").src = out.picture;
      $(p, ".picture").alt = `where the model looked in the image for each word of "${r.caption}"`;
    },
  },
  // Text generation (charlm): the prompt and what follows it, as text. The JSON panel it
  // had showed the text as one JSON string ("\\nWhat's at the...") cut at the panel's
  // edge, and had no box for the length, temperature or seed.
  "text generation": {
    setup(p, m) {
      $(p, "[name=text]").value = typeof m.example === "string" ? m.example : "";
      for (const k of ["steps", "temperature", "seed"]) {
        if (m.options && m.options[k] != null) $(p, `[name=${k}]`).value = m.options[k];
      }
    },
    async run(p, m) {
      const prompt = $(p, "[name=text]").value;
      const out = await call(p, "plot", {instances: [prompt], parameters: {
        steps: number(p, "steps"), temperature: number(p, "temperature"), seed: number(p, "seed")}});
      const r = out.predictions[0];
      $(p, ".generated").replaceChildren(el("b", {}, prompt), r.text);
      $(p, ".note").textContent = `${r.text.length} characters generated; the prompt: `
        + `${fixed(r.nats_per_char, 2)} nats/character`;
    },
  },
  any: {               // a task without a panel of its own: JSON in, JSON out
    setup(p, m) { $(p, "[name=json]").value = JSON.stringify(m.example != null ? [m.example] : []); },
    async run(p, m) {
      let instances;
      try { instances = JSON.parse($(p, "[name=json]").value); }
      catch (e) { throw new Error(`instances: not JSON (${e.message}); expected a JSON list, e.g. ["text"]`); }
      const out = await call(p, "predict", {instances});
      $(p, ".json").textContent = JSON.stringify(out.predictions, null, 1);
    },
  },
};

let panelCount = 0;                  // for ids: a panel's heading and error line

function panel(m) {
  const kind = PANELS[m.task] ? m.task : "any";
  // A region named by its heading: a screen reader's landmark list goes to a model's panel.
  const id = `panel-${++panelCount}`;
  const p = el("section", {class: "panel", "data-model": m.name, "data-task": m.task, "aria-labelledby": `${id}-name`});
  p.append(el("h2", {id: `${id}-name`}, m.name), el("p", {class: "about"}, `${m.task} · ${m.backend} · ${m.summary}`));
  // role=alert / status: a screen reader says the error, and that a run is under way.
  p.append(document.getElementById(`tpl-${kind.replace(/ /g, "-")}`).content.cloneNode(true),
           el("p", {class: "error", role: "alert", id: `${id}-error`}));
  ($(p, ".controls") || p).append(el("span", {class: "status", role: "status"}));   // by the button
  const out = $(p, ".out");
  // The answer was never said to a screen reader: it appears inside a live region, which
  // must already be in the page (a region that is itself shown is not announced); aria-busy
  // on that region holds the announcement until the whole answer is in. On it alone: on the
  // whole panel it held the "working…" status and the error line too, and a screen reader
  // may never read a live region's update made while it is busy (nvaccess/nvda#20871).
  // Hidden until the first answer: empty paragraphs and a table of no rows were read out before.
  const live = el("div", {"aria-live": "polite"});
  out.replaceWith(live);
  live.append(out);
  out.hidden = true;
  // The model's warnings of the input, as text, under the answer (before its picture).
  out.insertBefore(el("ul", {class: "warnings", "aria-label": "warnings"}), $(out, ".picture"));
  const go = async input => {
    p.dataset.state = "busy";
    live.setAttribute("aria-busy", "true");
    $(p, ".error").textContent = "";
    $(p, ".warnings").replaceChildren();
    p.querySelectorAll("[aria-invalid]").forEach(f => {
      f.removeAttribute("aria-invalid"); f.removeAttribute("aria-describedby");
    });
    // A slow run (a long text, a wide beam) said nothing but a greyed button: the seconds
    // it has taken so far are shown. "working…" is said once; the seconds are for the eye
    // (a live region whose text changed every second was read out every second).
    const start = Date.now(), status = $(p, ".status"), seconds = el("span", {"aria-hidden": "true"});
    const tick = () => {
      if (!status.firstChild) status.replaceChildren("working… ", seconds);
      seconds.textContent = `${Math.round((Date.now() - start) / 1000)} s`;
    };
    const timer = setInterval(tick, 1000);
    // The focused button is disabled below, which sends the focus to the page's top: a
    // keyboard user's Enter then ran nothing, and Tab started over. It comes back after.
    const focused = p.contains(document.activeElement) ? document.activeElement : null;
    // Inputs too, not only buttons: a second upload while the first ran raced it, and the
    // answer that came last was shown, whichever file was chosen last.
    p.querySelectorAll("button, input").forEach(b => { if (b.name !== "record") b.disabled = true; });
    try {
      await PANELS[kind].run(p, m, input);
      out.hidden = false;
      p.dataset.state = "done";
    } catch (e) {
      // The last answer is hidden: beside the error it read as the answer to this input
      // (the caption of the previous image next to a refused file's name).
      out.hidden = true;
      $(p, ".error").textContent = input.file ? `${input.file.name}: ${e.message}` : e.message;
      // The field at fault is marked, and its error is its description (read with it).
      const field = e.field || (input.file && $(p, "[name=file]"));
      if (field) {
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", $(p, ".error").id);
      }
      p.dataset.state = "error";
    } finally {
      clearInterval(timer);
      status.textContent = "";
      live.removeAttribute("aria-busy");
      p.querySelectorAll("button, input").forEach(b => { b.disabled = false; });
      if (focused && (document.activeElement === document.body || !document.activeElement)) focused.focus();
    }
  };
  PANELS[kind].setup(p, m, go);
  const run = $(p, "[name=run]");
  if (run) run.onclick = () => go({});
  p.addEventListener("keydown", e => {
    const action = enterKey(e, e.target, run && !run.disabled);
    if (action) e.preventDefault();
    if (action === "open") e.target.click();
    if (action === "run") run.click();
  });
  return p;
}

// A model that failed to load: a panel with its heading, as the others (it was one line of
// text with no heading, missing from a screen reader's list of headings and landmarks),
// and why it failed as an alert; no controls, nothing here can run it.
function failed(m) {
  const id = `panel-${++panelCount}`;
  const p = el("section", {class: "panel failed", "data-model": m.name, "data-state": "failed", "aria-labelledby": `${id}-name`});
  p.append(el("h2", {id: `${id}-name`}, `${m.name}: failed to load`),
           el("p", {class: "about"}, [m.task, m.backend, m.spec].filter(Boolean).join(" · ")),
           el("p", {class: "error", role: "alert"}, m.error || "the server gave no reason; its log has it"));
  return p;
}

// An error of the page's own (an exception no panel caught: a bug, a browser without some
// API) was only in the console, and the page sat at "Loading the models…" or a button kept
// "Stop": it is said at the top of the page, and main is no longer held busy.
function pageError(error) {
  const line = document.getElementById("page-error");
  line.textContent = `the page hit an error: ${(error && error.message) || error}; reloading `
    + "it may help (the browser's console has the details)";
  document.getElementById("panels").removeAttribute("aria-busy");
}
window.addEventListener("error", e => pageError(e.error || e.message));
window.addEventListener("unhandledrejection", e => pageError(e.reason));

async function main() {
  const panels = document.getElementById("panels");
  let models;
  try {
    const list = await fetchJSON("/v1/models");
    models = list.models;
    maxBody = list.max_body_bytes;
  } catch (e) {
    panels.removeAttribute("aria-busy");      // first: an alert in a busy region may go unsaid
    panels.replaceChildren(el("p", {class: "error", role: "alert"}, `cannot list the models: ${e.message}`));
    return;
  }
  const loading = models.filter(m => m.state === "LOADING");
  if (loading.length) {               // the server loads models after it starts listening
    panels.replaceChildren(el("p", {}, `Loading ${loading.map(m => m.name).join(", ")}…`));
    setTimeout(main, 2000);
    return;
  }
  panels.replaceChildren(...models.map(m => m.state === "AVAILABLE" ? panel(m) : failed(m)));
  // The tab's title (and a screen reader's first words) said "rnn-zoo" whatever it served.
  const names = models.filter(m => m.state === "AVAILABLE").map(m => m.name);
  document.title = names.length ? `${names.join(", ")} · rnn-zoo` : "rnn-zoo";
  panels.removeAttribute("aria-busy");
  document.body.dataset.ready = "true";
}

main();
