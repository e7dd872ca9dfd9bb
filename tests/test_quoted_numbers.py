"""The numbers the README and docs/models/*.md quote for a shipped bundle, beyond the model
table's valid headline (test_shipped_metrics.py), are its metrics.json's.

A number moves when its bundle is re-measured (forecast-lstm's report pinball ratio went
0.9950 -> 0.9942 on 2026-12-07) and every place that quotes it has to move with it. Each
quote below is written as the text reads, with the numbers formatted from metrics.json, so
a re-measured bundle fails here until the README and its docs page say the new number.
Reads files only.
"""
import json
import re
from pathlib import Path

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
]


def _metrics(bundle):
    return json.loads((zoo.bundle.resolve(bundle) / "metrics.json").read_text())


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
