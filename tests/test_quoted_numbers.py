"""The numbers the README and docs/models/*.md quote for a shipped bundle, beyond the model
table's valid headline (test_shipped_metrics.py), are its metrics.json's.

A number moves when its bundle is re-measured (forecast-lstm's report pinball ratio went
0.9950 -> 0.9942 on 2026-12-07) and every place that quotes it has to move with it. Each
quote below is written as the text reads, with the numbers formatted from metrics.json, so
a re-measured bundle fails here until the README and its docs page say the new number.
Reads files only.
"""
import decimal
import io
import json
import re
import zipfile
from pathlib import Path

import h5py
import pytest

import zoo
import zoo.bundle

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _flat(text):
    return re.sub(r"\s+", " ", text)


def _places(bundle):
    """The README's table row, the README's section and docs/models page of a bundle
    (a preset's are those of the model it is a preset of)."""
    name = zoo.registry.preset(bundle).name if bundle not in zoo.list_models() else bundle
    section = re.search(rf"^### {re.escape(name)}\n(.*?)(?=^##)", README, re.S | re.M)
    return {"table": next(ln for ln in README.splitlines() if ln.startswith(f"| `{name}`")),
            "readme": _flat(section.group(1)),
            "doc": _flat((ROOT / "docs" / "models" / f"{name}.md").read_text())}


# (bundle, where, the text as quoted, with {split[field]:format} from metrics.json)
QUOTES = [
    ("ner-bilstm", "table", "**{report[f1]:.4f}**"),
    ("ner-bilstm", "readme", "on the report split (one document in ten of train, carved by "
                             "CRC-32, never trained on): {report[f1]:.4f}"),
    ("ner-bilstm", "readme", "the selection split: {valid[f1]:.4f}"),
    ("ner-bilstm", "table", "**{report[f1]:.4f}** (lower-cased text: {report[f1_lowercased]:.4f}; "),
    ("ner-bilstm", "table", "| {valid[f1]:.4f} (lower-cased {valid[f1_lowercased]:.4f}) (epoch"),
    ("ner-bilstm", "readme", "never trained on): {report[f1]:.4f}, lower-cased "
                             "{report[f1_lowercased]:.4f} (the card's `f1_lowercased`"),
    ("ner-bilstm", "doc", "The shipped bundle reads {report[f1]:.4f} on it (lower-cased "
                          "{report[f1_lowercased]:.4f})"),
    ("ner-bilstm", "doc", "valid {valid[f1]:.4f}, on valid lower-cased {valid[f1_lowercased]:.4f}"),
    ("ner-bilstm", "doc", "The shipped bundle reads {report[f1]:.4f} on it"),
    ("ner-bilstm", "doc", "never trained on) {report[f1]:.4f}"),
    ("ner-bilstm", "doc", "Per type on valid: PER {valid[per_type][PER][f1]:.3f}, LOC "
                          "{valid[per_type][LOC][f1]:.3f}, ORG {valid[per_type][ORG][f1]:.3f}, "
                          "MISC {valid[per_type][MISC][f1]:.3f}"),
    ("music-lstm", "table", "**{report[nll_per_step]:.4f}** ({report[sequences]} chorales"),
    ("music-lstm", "readme", "report split, {report[sequences]} chorales never trained on: "
                             "**{report[nll_per_step]:.4f}**) | **{valid[nll_per_step]:.4f}** | "
                             "{valid[frame_accuracy]:.3f}"),
    ("music-lstm-nottingham", "readme", "{report[sequences]} tunes never trained on: "
                                        "{report[nll_per_step]:.4f}) | {valid[nll_per_step]:.4f} | "
                                        "{valid[frame_accuracy]:.3f}"),
    ("music-lstm-musedata", "readme", "{report[sequences]} pieces never trained on: "
                                      "{report[nll_per_step]:.4f}) | {valid[nll_per_step]:.4f} | "
                                      "{valid[frame_accuracy]:.3f}"),
    ("music-lstm-piano-midi", "readme", "{report[sequences]} pieces never trained on: "
                                        "{report[nll_per_step]:.4f}) | {valid[nll_per_step]:.4f} | "
                                        "{valid[frame_accuracy]:.3f}"),
    ("forecast-lstm", "table", "**{report[pinball_ratio_vs_naive]:.4f}** ± "
                               "{report[pinball_ratio_vs_naive_se]:.4f} ({report[series]} tickers "
                               "never trained on; coverage {report[coverage_80]:.3f}; GARCH-t "
                               "{report[garch_pinball_ratio_vs_naive]:.4f})"),
    ("forecast-lstm", "readme", "**{report[pinball_ratio_vs_naive]:.4f} ± "
                                "{report[pinball_ratio_vs_naive_se]:.4f}** (coverage "
                                "{report[coverage_80]:.3f}) on the report split"),
    ("forecast-lstm", "readme", "{valid[pinball_ratio_vs_naive]:.4f} ± "
                                "{valid[pinball_ratio_vs_naive_se]:.4f} ({valid[coverage_80]:.3f}) "
                                "on valid, the selection split"),
    ("forecast-lstm", "readme", "**{report[pinball_ratio_vs_garch]:.4f} ± "
                                "{report[pinball_ratio_vs_garch_se]:.4f}** on the report split"),
    ("forecast-lstm", "doc", "| **{report[pinball_ratio_vs_naive]:.4f} ± "
                             "{report[pinball_ratio_vs_naive_se]:.4f}** (coverage "
                             "{report[coverage_80]:.3f}) | {valid[pinball_ratio_vs_naive]:.4f} ± "
                             "{valid[pinball_ratio_vs_naive_se]:.4f} ({valid[coverage_80]:.3f}) |"),
    ("forecast-lstm", "doc", "| GARCH(1,1)-t per ticker (`arch`), constant mean | "
                             "{report[garch_pinball_ratio_vs_naive]:.4f} (coverage "
                             "{report[garch_coverage_80]:.3f}) | "
                             "{valid[garch_pinball_ratio_vs_naive]:.4f} "
                             "({valid[garch_coverage_80]:.3f}) |"),
    ("forecast-lstm", "doc", "| **{report[pinball_ratio_vs_garch]:.4f} ± "
                             "{report[pinball_ratio_vs_garch_se]:.4f}** | "
                             "{valid[pinball_ratio_vs_garch]:.4f} ± "
                             "{valid[pinball_ratio_vs_garch_se]:.4f} |"),
    ("forecast-lstm", "doc", "| MASE, model (median) | " + " | ".join(
        f"{{valid[per_horizon][h{h}][mase]:.3f}}" for h in range(1, 6)) + " |"),
    ("forecast-lstm", "doc", "| 80 % coverage, model / naive-quantiles | " + " | ".join(
        f"{{valid[per_horizon][h{h}][in80]:.3f}} / {{valid[per_horizon][h{h}][naiveq_in80]:.3f}}"
        for h in range(1, 6)) + " |"),
    ("speech-ctc", "table", "**{report[wer]:.4f}** (FSDD recordings 5-9, {report[utterances]}: "
                            "digit accuracy {report[digit_accuracy]:.3f}, connected-digit WER "
                            "{report[connected_wer]:.3f}"),
    ("speech-ctc", "table", "| {valid[wer]:.4f} (digit accuracy {valid[digit_accuracy]:.3f}"),
    ("speech-ctc", "readme", "FSDD 5-9 (report, nothing chosen on it): digit accuracy "
                             "**{report[digit_accuracy]:.3f}**, connected WER "
                             "**{report[connected_wer]:.3f}**"),
    ("speech-ctc", "readme", "| **{valid[digit_accuracy]:.3f} / {valid[connected_wer]:.3f}** |"),
    ("speech-ctc-stream", "table", "**{report[wer]:.4f}** (FSDD recordings 5-9, "
                                   "{report[utterances]}: digit accuracy "
                                   "{report[digit_accuracy]:.3f}, connected-digit WER "
                                   "{report[connected_wer]:.3f})"),
    ("speech-ctc-stream", "readme", "FSDD 0-4 (selection): digit accuracy "
                                    "{valid[digit_accuracy]:.3f}, WER {valid[wer]:.3f}, connected "
                                    "WER {valid[connected_wer]:.3f}; FSDD 5-9 (report, nothing "
                                    "chosen on it): **{report[digit_accuracy]:.3f} / "
                                    "{report[connected_wer]:.3f}**"),
    ("speech-ctc-stream", "doc", "FSDD 5-9 {report[digit_accuracy]:.3f} / connected WER "
                                 "{report[connected_wer]:.3f}"),
    ("summarize-attn", "table", "**{report[rougeL]:.4f}** (lead {report[lead_rougeL]:.4f}; Debian "
                                "{report[per corpus][Debian, greedy (default)][rougeL]:.4f} vs lead "
                                "{report[per corpus][Debian, lead sentence][rougeL]:.4f}*, Inshorts "
                                "{report[per corpus][Inshorts, greedy (default)][rougeL]:.4f} vs "
                                "{report[per corpus][Inshorts, lead sentence][rougeL]:.4f}, BBC "
                                "{report[per corpus][BBC, greedy (default)][rougeL]:.4f} vs "
                                "{report[per corpus][BBC, lead sentence][rougeL]:.4f}"),
    ("summarize-attn", "table", "| {valid[rougeL]:.4f} (lead "),
    ("summarize-attn", "readme", "| **{valid[Debian rougeL]:.4f}** | **{valid[Inshorts rougeL]:.4f}** "
                                 "| **{valid[BBC rougeL]:.4f}** | **{valid[rougeL]:.4f}** |"),
    ("summarize-attn", "readme", "| Debian | greedy (default) | "
                                 "{report[per corpus][Debian, greedy (default)][rouge1]:.4f} | "
                                 "{report[per corpus][Debian, greedy (default)][rouge2]:.4f} | "
                                 "{report[per corpus][Debian, greedy (default)][rougeL]:.4f} |"),
    ("summarize-attn", "doc", "greedy reads {report[per corpus][Debian, greedy (default)][rougeL]:.4f} "
                              "against lead {report[per corpus][Debian, lead sentence][rougeL]:.4f}"),
    ("summarize-attn", "doc", "the mean over the three corpora {report[rougeL]:.4f} against "
                              "{report[lead_rougeL]:.4f}"),
    # the sections that measured step 4's bundle, told apart from the soup shipped now
    ("summarize-attn", "doc", "(its selection mean 0.3595, the soup's {valid[rougeL]:.4f})"),
    ("charlm-lstm", "table", "**{report[bits_per_char]:.4f}** ({report[nats_per_char]:.3f} nats; "
                             "n-gram {report[ngram_bits_per_char]:.4f}; {report[passages]} passages"),
    ("charlm-lstm", "readme", "| **{report[bits_per_char]:.4f}** ({report[nats_per_char]:.3f}) | "
                              "{report[ngram_bits_per_char]:.4f} |"),
    ("charlm-lstm", "readme", "| {valid[bits_per_char]:.4f} ({valid[nats_per_char]:.3f}) | "
                              "{valid[ngram_bits_per_char]:.4f} |"),
    ("charlm-lstm", "readme", "≤ 1.55 nats on the report split: met ({report[nats_per_char]:.3f})"),
    ("caption-cnn-lstm", "table", "**{report[retrieval_bleu4]:.4f}** (nearest-neighbour baseline "
                                  "{report[nn_bleu4]:.4f}"),
    ("caption-cnn-lstm", "table", "Noto {report[retrieval_bleu4_google]:.4f} vs "
                                  "{report[by_folder][google][nn_bleu4]:.4f}, Twemoji "
                                  "{report[retrieval_bleu4_twitter]:.4f} vs "
                                  "{report[by_folder][twitter][nn_bleu4]:.4f}; the model alone, "
                                  "greedy: {report[bleu4]:.4f}"),
    ("caption-cnn-lstm", "table", "| {valid[retrieval_bleu4]:.4f} (NN {valid[nn_bleu4]:.4f}; greedy "
                                  "{valid[bleu4]:.4f}, exact match {valid[exact_match]:.3f})"),
    ("caption-cnn-lstm", "readme", "BLEU-4 **{report[retrieval_bleu4]:.4f}** against the "
                                   "nearest-neighbour baseline's {report[nn_bleu4]:.4f}"),
    ("caption-cnn-lstm", "readme", "on valid, the selection split, {valid[retrieval_bleu4]:.4f} "
                                   "against {valid[nn_bleu4]:.4f}"),
    ("caption-cnn-lstm", "doc", "`predict()` reads {report[retrieval_bleu4]:.4f} against the "
                                "nearest neighbour's {report[nn_bleu4]:.4f}"),
    ("caption-cnn-lstm", "doc", "| **{report[retrieval_bleu4]:.4f}** ({report[nn_bleu4]:.4f}) | "
                                "{report[retrieval_bleu4_google]:.4f} "
                                "({report[by_folder][google][nn_bleu4]:.4f}) | "
                                "{report[retrieval_bleu4_twitter]:.4f} "
                                "({report[by_folder][twitter][nn_bleu4]:.4f}) | "
                                "{report[retrieval_exact_match]:.3f} |"),
    ("caption-cnn-lstm", "doc", "| {valid[retrieval_bleu4]:.4f} ({valid[nn_bleu4]:.4f}) | "
                                "{valid[retrieval_bleu4_google]:.4f} "
                                "({valid[by_folder][google][nn_bleu4]:.4f}) | "
                                "{valid[retrieval_bleu4_twitter]:.4f} "
                                "({valid[by_folder][twitter][nn_bleu4]:.4f}) | "
                                "{valid[retrieval_exact_match]:.3f} |"),
    ("caption-cnn-lstm", "doc", "| the same, the model alone (greedy) | {report[bleu4]:.4f} "
                                "({report[nn_bleu4]:.4f}) | {report[by_folder][google][bleu4]:.4f} "
                                "({report[by_folder][google][nn_bleu4]:.4f}) | "
                                "{report[by_folder][twitter][bleu4]:.4f} "
                                "({report[by_folder][twitter][nn_bleu4]:.4f}) | "
                                "{report[exact_match]:.3f} |"),
    ("caption-cnn-lstm", "doc", "greedy {report[bleu4]:.4f}, beam 3 {report[beam3_bleu4]:.4f}"),
    ("forecast-lstm", "readme", "than naive persistence: ratios "
                                "{report[mase_ratio_vs_naive_h1]:.3f} … "
                                "{report[mase_ratio_vs_naive_h5]:.3f}); ≤ 0.993 vs "
                                "naive-quantiles is **not met** ({report[pinball_ratio_vs_naive]:.4f})"),
    # the targets of issue 18: the model's lead over the lead sentence, greedy and beam
    *[("summarize-attn", "readme", f"{target}: **met** (+{{report[per corpus][{corpus}, greedy "
                                   f"(default)][vs lead (rougeL)]:.3f}} greedy, +{{report[per "
                                   f"corpus][{corpus}, beam 4, alpha 0.8, block_ngram 3][vs lead "
                                   f"(rougeL)]:.3f}} beam)")
      for corpus, target in (("Debian", "Debian ≥ lead + 0.12"), ("BBC", "BBC ≥ lead"))],
]


def _metrics(bundle):
    return json.loads((zoo.bundle.resolve(bundle) / "metrics.json").read_text())


# summarize-attn's README table of the report split, one row per metrics.json "per corpus"
# row ("Debian, greedy (default)": | Debian | greedy (default) | R-1 | R-2 | R-L | vs lead |)
QUOTES += [("summarize-attn", "readme",
            "| {} | {} | ".format(*row.split(", ", 1))
            + " | ".join(f"{{report[per corpus][{row}][{k}]:.4f}}" for k in ("rouge1", "rouge2",
                                                                            "rougeL"))
            + f" | {{report[per corpus][{row}][vs lead (rougeL)]:+.4f}} |")
           for row in _metrics("summarize-attn")["report"]["per corpus"]]


@pytest.mark.parametrize("bundle,where,quote", QUOTES,
                         ids=[f"{b}-{w}-{i}" for i, (b, w, _) in enumerate(QUOTES)])
def test_quoted_number_is_the_bundles(bundle, where, quote):
    expected = quote.format_map(_metrics(bundle))
    assert expected in _places(bundle)[where], (
        f"{where} of {bundle} should quote {expected!r} (its metrics.json); re-measured?")


def test_every_shipped_bundle_has_its_report_headline_pinned():
    pinned = {b for b, _, q in QUOTES if "{report[" in q}
    shipped = {n for n in zoo.list_models() if zoo.registry.get(n).shipped}
    shipped |= {p for n in shipped for p in zoo.registry.get(n).presets}
    assert shipped <= pinned, f"no quoted report number pinned for {shipped - pinned}"


@pytest.mark.parametrize("bundle", sorted({b for b, _, _ in QUOTES}))
def test_report_is_the_split_nothing_chose_and_valid_the_selection_split(bundle):
    """What the text calls report is metrics.json's report split (selection false) and what
    it calls valid, the selection split."""
    splits = _metrics(bundle)["splits"]
    assert splits["report"]["selection"] is False and splits["valid"]["selection"] is True


# ---- speed: the numbers the README's Speed section and docs/speed.md quote from a run's
# benchmarks/results/<name>.md, as that file writes them.
RESULTS = ROOT / "benchmarks" / "results"


class _Cell(str):
    """A table cell as written; with a format spec, the written number rounded half up
    (the file's 0.0365 is the text's 0.037: float() would round it down)."""

    def __format__(self, spec):
        if not spec:
            return str(self)
        digits = int(re.fullmatch(r"\.(\d+)f", spec).group(1))
        return str(decimal.Decimal(self.replace(",", "")).quantize(
            decimal.Decimal(1).scaleb(-digits), decimal.ROUND_HALF_UP))


class _Unique(dict):
    """Looked up by any part of a key that names one key only (a section's heading, a
    table's row or column)."""

    def __missing__(self, part):
        if isinstance(part, int):   # format's "[12]" is the int 12
            return self[str(part)]
        hits = [k for k in self if part in k]
        if len(hits) != 1:
            raise KeyError(f"{part!r} names {hits or 'nothing'} of {list(self)}")
        return self[hits[0]]


class _Results(dict):
    """{results file stem: {section heading: {row: {column: cell}}, "ratio": the Keras / twin
    ratio, "date" and "time": the run's}}."""

    def __missing__(self, stem):
        sections, heading, header = _Unique(), "", None
        for line in (RESULTS / f"{stem}.md").read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("#"):
                heading = line.lstrip("# ")
            elif line.startswith("- date: "):   # "2026-12-05 15:56 UTC; command: ..."
                sections["date"], sections["time"] = line.split()[2], line.split()[3]
            elif not line.startswith("|"):
                header = None
                ratio = re.match(r"Ratio Keras .*\*\*([\d.]+)\*\*", line)
                if ratio:
                    sections["ratio"] = _Cell(ratio.group(1))
            elif header is None:
                header = cells
            elif not line.startswith("|---"):
                row = _Unique(zip(header[1:], map(_Cell, cells[1:])))
                # lite_threads' "p50 (p10)" columns: the p50 alone under "... p50"
                row |= {h.removesuffix(" (p10)"): _Cell(c.split()[0])
                        for h, c in row.items() if h.endswith("p50 (p10)")}
                sections.setdefault(heading, _Unique())[cells[0]] = row
        self[stem] = sections
        return sections


TRAIN = "{{{0}[Training][{1}][{2}]}}"


def _training(stem, unit):
    """A training-throughput row's cells: Keras, the twin eager and compiled, the ratio with
    default threads and with one."""
    return [TRAIN.format(stem, row, unit) for row in ("jit_compile=False", "(eager", "torch.compile")
            ] + [f"{{{stem}[ratio]}}×", f"{{{stem}-1thread[ratio]}}×"]


P50 = "{{{0}[{1}][{2}][p50 ms]}}"
RUNTIMES = ("TFLite float32", "TFLite dynamic-range", "ONNX", "PyTorch twin")
MEMORY = "{{memory[Peak memory][{0}][{1}: peak RSS MiB]}}"
MEMORY_APPS = ("caption-cnn-lstm", "charlm-lstm", "forecast-lstm", "music-lstm", "ner-bilstm",
               "speech-ctc", "speech-ctc-stream", "summarize-attn")


# (page, the start of a table row's first cell, its next cells from the results; None: a
# cell from elsewhere, left unchecked)
SPEED_ROWS = [
    ("README.md", "speech-ctc, audio s/s", _training("speech_ctc", "audio seconds/s")),
    ("README.md", "ner-bilstm, tokens/s", _training("ner_bilstm", "tokens/s")[:2] + [None]
     + _training("ner_bilstm", "tokens/s")[3:]),
    ("README.md", "forecast-lstm, windows/s", _training("forecast_lstm", "windows/s")),
    ("README.md", "summarize-attn, pairs/s", _training("summarize_attn", "pairs/s")),
    ("README.md", "music-lstm, frames/s", _training("music_lstm", "frames/s")),
    ("README.md", "caption-cnn-lstm, images/s", _training("caption_cnn_lstm", "images/s")),
    ("README.md", "charlm-lstm, chars/s", _training("charlm_lstm", "chars/s")),
    ("README.md", "ner-bilstm, a sentence (300", [
        P50.format("ner_bilstm", "300 validation", r) for r in RUNTIMES]),
    # the text writes three figures where the file drops a trailing zero (3.5 ms: 3.50)
    ("README.md", "ner-bilstm, a 30-token sentence", [
        P50.format("ner_bilstm", "30 tokens", r).replace("}", ":.2f}") for r in RUNTIMES]),
    ("README.md", "forecast-lstm, one forecast", [
        P50.format("forecast_lstm", "Single-forecast", r) for r in RUNTIMES]),
    ("README.md", "speech-ctc, one utterance", [
        P50.format("speech_ctc", "Latency, batch 1", r) for r in RUNTIMES[:3]] + [""]),
    ("README.md", "summarize-attn, one document, greedy / beam 4", [
        P50.format("summarize_attn", "Summary latency", "TFLite float32, beam 1") + " / "
        + P50.format("summarize_attn", "Summary latency", "TFLite float32, beam 4"), "",
        P50.format("summarize_attn", "Summary latency", "ONNX, beam 1") + " / "
        + P50.format("summarize_attn", "Summary latency", "ONNX, beam 4"), ""]),
    ("README.md", "summarize-attn, one document, MBR 32 draws", [
        P50.format("summarize_attn", "Minimum Bayes", "TFLite float32"), "",
        P50.format("summarize_attn", "Minimum Bayes", "ONNX"), ""]),
    ("README.md", "caption-cnn-lstm, one image, greedy / beam 3", [
        P50.format("caption_cnn_lstm", "Caption latency", "TFLite float32, beam 1") + " / "
        + P50.format("caption_cnn_lstm", "Caption latency", "TFLite float32, beam 3"), "",
        P50.format("caption_cnn_lstm", "Caption latency", "ONNX, beam 1") + " / "
        + P50.format("caption_cnn_lstm", "Caption latency", "ONNX, beam 3").replace("}", ":.1f}"),
        ""]),
    ("README.md", "caption-cnn-lstm, one decoder step", [
        P50.format("caption_cnn_lstm", "One decoder step", "TFLite float32"), "",
        P50.format("caption_cnn_lstm", "One decoder step", "ONNX"), ""]),
    # the text rounds the file's 0.0262 ms, 0.0365 and 0.0419 to three places
    ("README.md", "charlm-lstm, one recurrent step", [
        P50.format("charlm_lstm", "Generation", r).replace("}", ":.3f}") for r in RUNTIMES]),
    ("README.md", "music-lstm, one recurrent step", [
        P50.format("music_lstm", "Generation", r).replace("}", ":.3f}") for r in RUNTIMES]),
    ("README.md", "`zoo predict`", [MEMORY.format(app, "predict") for app in MEMORY_APPS]),
    ("README.md", "`zoo train` (one short epoch)", [MEMORY.format(app, "train") for app in MEMORY_APPS]),
]


def _row(page, label):
    rows = [ln for ln in (ROOT / page).read_text().splitlines() if ln.startswith(f"| {label}")]
    assert len(rows) == 1, f"{page} has {len(rows)} table rows starting {label!r}"
    return [c.strip().replace("**", "") for c in rows[0].strip().strip("|").split("|")][1:]


@pytest.mark.parametrize("page,label,cells", SPEED_ROWS, ids=[f"{p}-{l}" for p, l, _ in SPEED_ROWS])
def test_quoted_speed_row_is_its_results_file(page, label, cells):
    results, quoted = _Results(), _row(page, label)
    expected = [c if c is None else c.format_map(results) for c in cells]
    assert [None if e is None else q for q, e in zip(quoted, expected)] == expected, (
        f"{page}'s row {label!r} should read {expected} (benchmarks/results); re-run?")


LITE = "{{lite_threads[{0}][{1}][{2} p50]:.{3}f}}"

# (page, a sentence as the text writes it, its numbers from benchmarks/results)
SPEED_QUOTES = [
    ("README.md", "**The current run: the timed part of `make bench`, {ner_bilstm[date]} "
                  "{ner_bilstm[time]} to {memory[time]} UTC**"),
    ("README.md", "(charlm-lstm's Keras step {charlm_lstm[Training][jit_compile=False][ms/step p50]} "
                  "ms, as at 23:06; caption-cnn-lstm "
                  "{caption_cnn_lstm[Training][jit_compile=False][images/s]} images/s against 206)"),
    ("README.md", "Keras's step 30.7, 29.2, 29.9 and 31.3 ms "
                  "({forecast_lstm[Training][jit_compile=False][ms/step p50]} here), the twin's "
                  "faster row 42.7-44.6 ms ({forecast_lstm[Training][torch.compile][ms/step p50]} here)"),
    ("README.md", "(benchmarks/results/compute_floor.md and compute_floor-1thread.md, "
                  "{compute_floor[date]} {compute_floor[time]}, against the step times of that "
                  "evening's run, Keras {compute_floor[floor][charlm-lstm][Keras ms]} ms and the twin "
                  "{compute_floor[floor][charlm-lstm][twin ms]}) the floor is "
                  "**{compute_floor[floor][charlm-lstm][floor ms]} ms**: at most "
                  "**{compute_floor[floor][charlm-lstm][the most]}** "
                  "({compute_floor-1thread[floor][charlm-lstm][the most]} with one thread)"),
    ("README.md", "(ner-bilstm's sentence {ner_bilstm[300 validation][TFLite float32][p50 ms]} ms "
                  "against 0.988)"),
    ("README.md", "is **not met**: {ner_bilstm[30 tokens][TFLite float32][p50 ms]} ms in this run"),
    ("README.md", "benchmarks.lite_threads`, benchmarks/results/lite_threads.md, "
                  "{lite_threads[time]}, idle)"),
    ("README.md", "(caption " + LITE.format("decoder step", "TFLite float", "1 thread", 3)
     + " against " + LITE.format("decoder step", "ONNX", "1 thread", 3) + " ms, charlm "
     + LITE.format("charlm-lstm", "TFLite float", "1 thread", 3) + " against "
     + LITE.format("charlm-lstm", "ONNX", "1 thread", 3) + ", music "
     + LITE.format("music-lstm", "TFLite float", "1 thread", 3) + " against "
     + LITE.format("music-lstm", "ONNX", "1 thread", 3) + ", ner-bilstm "
     + LITE.format("ner-bilstm", "TFLite float", "1 thread", 2) + " against "
     + LITE.format("ner-bilstm", "ONNX", "1 thread", 2) + ")"),
    ("README.md", "(caption " + LITE.format("decoder step", "TFLite float", "2 threads", 3)
     + ", charlm " + LITE.format("charlm-lstm", "TFLite float", "2 threads", 3)
     + " against ONNX Runtime's " + LITE.format("decoder step", "ONNX", "default threads", 3)
     + " and " + LITE.format("charlm-lstm", "ONNX", "default threads", 3)
     + ") and slow the sentence (" + LITE.format("ner-bilstm", "TFLite float", "2 threads", 2)
     + " ms)"),
    ("README.md", "(charlm-lstm's {charlm_lstm[Exports][TFLite float32][MB]:.1f} MB against this "
                  "CPU's 2 MiB of L2 a core: its {charlm_lstm[Exports][dynamic-range][MB]:.1f} MB "
                  "dynamic-range copy takes {charlm_lstm[Generation][dynamic-range][p50 ms]:.3f} ms "
                  "a step in this run"),
    ("README.md", "(a caption step takes {lite_step_batch[rows][1][p50 ms a call]:.2f} ms for one "
                  "row, {lite_step_batch[rows][3][p50 ms a call]:.2f} for three, "
                  "{lite_step_batch[rows][12][p50 ms a call]:.2f} for twelve: "
                  "`python -m benchmarks.lite_step_batch`)"),
    ("README.md", "(`python -m benchmarks.memory`, benchmarks/results/memory.md, this run's "
                  "machine, {memory[date]} {memory[time]}-06:09)"),
    ("README.md", "lower for ner-bilstm ({memory[Peak][ner-bilstm][train: peak]} MiB against 5,230, "
                  "−11 %; its peak is the TFLite converter's, below) and summarize-attn "
                  "({memory[Peak][summarize-attn][train: peak]} against 4,381"),
]


@pytest.mark.parametrize("page,quote", SPEED_QUOTES,
                         ids=[f"{p}-{i}" for i, (p, _) in enumerate(SPEED_QUOTES)])
def test_quoted_speed_number_is_its_results_file(page, quote):
    expected = quote.format_map(_Results())
    assert expected in _flat((ROOT / page).read_text()), (
        f"{page} should quote {expected!r} (benchmarks/results); re-run?")


# ---- a shipped bundle's size, parameter count and vocabulary, counted from its files

def _parameters(bundle):
    """The weights model.keras holds (what the card's count_params() counted), without
    loading TensorFlow."""
    with zipfile.ZipFile(zoo.bundle.resolve(bundle) / "model.keras") as z, \
            h5py.File(io.BytesIO(z.read("model.weights.h5"))) as h5:
        sizes = []
        h5.visititems(lambda _, obj: sizes.append(obj.size) if isinstance(obj, h5py.Dataset) else None)
    return sum(sizes)


def _vocabulary(bundle):
    fields = json.loads((zoo.bundle.resolve(bundle) / "preprocessor.json").read_text())
    return len(fields["preprocessor"].get("vocab", ()))


@pytest.mark.parametrize("bundle", sorted(n for n in zoo.list_models() if zoo.registry.get(n).shipped))
def test_model_tables_bundle_size_is_the_bundles(bundle):
    """The model table's last column, in MiB (the 25 MB a bundle may weigh is 25 MiB), to
    the digits it is written with."""
    written = re.search(r"\| ([\d.]+) MB \|$", _places(bundle)["table"]).group(1)
    size = sum(p.stat().st_size for p in zoo.bundle.resolve(bundle).rglob("*") if p.is_file())
    places = len(written.partition(".")[2])
    assert written == f"{size / 2 ** 20:.{places}f}", f"{bundle} weighs {size / 2 ** 20:.2f} MiB"


# (bundle, where, the text as quoted, with {parameters} and {vocab} counted from the bundle)
BUNDLE_QUOTES = [
    ("summarize-attn", "readme", "vocabulary of {vocab:,} subwords"),
    ("summarize-attn", "readme", "as in See et al. 2017 ({parameters:.1f} M parameters)"),
    ("summarize-attn", "doc", "{vocab:,} subwords learnt on the Debian training pairs"),
    ("summarize-attn", "doc", "coverage as in See et al. 2017; {parameters:.1f} M parameters."),
    ("charlm-lstm", "readme", "Shipped: 512 LSTM units, embedding 64, {parameters:.1f} M parameters"),
    ("charlm-lstm", "doc", "| LSTM, 16 epochs (shipped) | 2.1351 | {parameters:.2f} M |"),
    ("caption-cnn-lstm", "readme", "({parameters:.1f} M parameters, {vocab:,} words)"),
    ("caption-cnn-lstm", "doc", "({parameters:.1f} M parameters, {vocab:,} words)"),
    ("speech-ctc", "doc", "CTC over the tokens 0-9; {parameters:.1f} M parameters)"),
]


@pytest.mark.parametrize("bundle,where,quote", BUNDLE_QUOTES,
                         ids=[f"{b}-{w}-{i}" for i, (b, w, _) in enumerate(BUNDLE_QUOTES)])
def test_quoted_size_is_the_bundles(bundle, where, quote):
    expected = quote.format(parameters=_parameters(bundle) / 1e6, vocab=_vocabulary(bundle))
    assert expected in _places(bundle)[where], f"{where} of {bundle} should quote {expected!r}"


def test_quoted_gradient_size_is_forecast_lstms():
    """Distributed training's "27 k parameters here, 108 kB" (float32 gradients)."""
    n = _parameters("forecast-lstm")
    assert f"({n / 1e3:.0f} k parameters here, {4 * n / 1e3:.0f} kB)" in _flat(README)


# ---- the numbers docs quote from a notebook's stored outputs (notebooks/*.ipynb, as
# `make notebooks` stored them): a re-run that moves them fails here until the text moves.
def _notebook_stdout(name):
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("name") == "stdout")


def _gradient_ratios(name):
    """{cell: the ratio as printed} from the gradient-flow cell ('rnn: gradient 23 characters
    back / 1 back = 7.3e-05'), and the distance."""
    found = re.findall(r"^(\w+): gradient (\d+) characters back / 1 back = (\S+)$",
                       _notebook_stdout(name), re.M)
    return {cell: ratio for cell, _, ratio in found} | {"back": found[0][1]}


NOTEBOOK_QUOTES = [
    ("docs/models/charlm-lstm.md", "charlm_lstm", _gradient_ratios,
     "the gradient of the last character's loss {back} characters back is {rnn} of its value "
     "one character back for the tanh RNN, {gru} for the GRU and {lstm} for the LSTM"),
]


@pytest.mark.parametrize("page,name,numbers,quote", NOTEBOOK_QUOTES,
                         ids=[f"{p}-{n}" for p, n, _, _ in NOTEBOOK_QUOTES])
def test_quoted_notebook_number_is_its_stored_output(page, name, numbers, quote):
    expected = quote.format_map(numbers(name))
    assert expected in _flat((ROOT / page).read_text()), (
        f"{page} should quote {expected!r} (notebooks/{name}.ipynb's stored outputs)")


# ---- the README's WikiANN fine-tuning table: rows quoted from the shipped card's study
# (metrics.json studies.wikiann_en, written by `python -m benchmarks.ner_wikiann --record`)
WIKIANN_ROWS = [
    ("| **defaults**, trained as `zoo fine-tune` trains since 2026-12-06", "defaults"),
    ("| defaults + discriminative rates", "defaults-layer-decay0.7"),
    ("| defaults + `layer_lr_decay=0.9` |", "defaults-layer-decay0.9"),
    ("| defaults, run again the same day", "defaults-again"),
]


@pytest.mark.parametrize("start,variant", WIKIANN_ROWS, ids=[v for _, v in WIKIANN_ROWS])
def test_quoted_wikiann_row_is_the_cards_study(start, variant):
    row = next(ln for ln in README.splitlines() if ln.startswith(start))
    study = {r["variant"]: r for r in _metrics("ner-bilstm")["studies"]["wikiann_en"]["rows"]}
    r = study[variant]
    cells = [f"{r[k]:.4f}" for k in ("WikiANN dev F1 (selection)", "WikiANN report F1",
                                      "CoNLL valid F1")]
    assert row.endswith(" | ".join(cells) + " |"), f"README's {variant} row should end {cells}"
