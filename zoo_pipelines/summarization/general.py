"""The general `summarize-attn` (package descriptions and news): measure a fine-tuned bundle
per corpus, choose its decoding on the selection split, and write the shipped bundle.

Every number comes from the evaluator (`evaluate.evaluate`) in this run; metrics.json gets

- `valid` (selection split: mix.mixed_valid, every 8th Debian valid pair and the whole
  Inshorts and BBC valid files): the `decoding sweep` table, ROUGE-L per corpus of each
  candidate decoding, and, flat, the chosen row's (headline `rougeL`: the mean over the
  three corpora);
- `report` (each corpus's report split, carved from its train file by REPORT_RULE;
  nothing chosen on it; Debian: every 5th pair, for CPU time): ROUGE-1/2/L per corpus,
  greedy and the chosen default decoding, beside the lead sentence (the `per corpus`
  table; flat: the means over the corpora of the greedy row);
- `reports`: the registry's demo inputs with their summaries.

    python -m zoo_pipelines.summarization.general sweep BUNDLE GRID_JSON SWEEP_JSON [CORPORA]
    python -m zoo_pipelines.summarization.general finish BUNDLE OUT SWEEP_JSON ROW
    python -m zoo_pipelines.summarization.general versus-lead BUNDLE
    python -m zoo_pipelines.summarization.general remeasure BUNDLE

`versus-lead` measures how far each report split can tell the bundle from the lead
sentence: the paired difference in ROUGE-L at the bundle's default decoding, its standard
error and a bootstrap 95 % interval (it chooses nothing; a few minutes on 2 cores).

CORPORA (comma-separated, default all three) limits the sweep, and so the choice and the
report, to some corpora: `inshorts_news,bbc_news_summary` for a news-only bundle (measured
and not shipped: docs/models/summarize-attn.md, "A news bundle").
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from zoo.errors import InputError, script

from .data import DATASETS, REPORT_RULE
from .evaluate import evaluate, lead_sentence, rouge_each, summarize
from .mix import corpus, mixed_valid

SHORT = {"debian_descriptions": "Debian", "inshorts_news": "Inshorts", "bbc_news_summary": "BBC"}
ROUGE = ("rouge1", "rouge2", "rougeL")


def sweep(zm, candidates: dict, corpora: tuple = DATASETS) -> dict:
    """ROUGE-L per corpus of each candidate decoding on the mixed selection file
    (mix.mixed_valid: every 8th Debian valid pair, all Inshorts and BBC valid pairs), for
    the `corpora` it is chosen for."""
    valid = mixed_valid()
    rows = {}
    for label, options in candidates.items():
        row = {}
        for name in corpora:
            examples = [p for p in valid if p["corpus"] == name]
            m = evaluate(zm, examples, batch=128, **options)
            row[f"{SHORT[name]} rougeL"] = m["rougeL"]
            row[f"{SHORT[name]} lead_rougeL"] = m["lead_rougeL"]
            row[f"{SHORT[name]} words"] = m["mean_summary_words"]
        row["mean rougeL"] = sum(row[f"{SHORT[n]} rougeL"] for n in corpora) / len(corpora)
        print(label, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)
        rows[label] = row
    return rows


def demo_table(zm, decodings: dict) -> dict:
    rows = {}
    for i, text in enumerate(zm.entry.demo_inputs, 1):
        rows[f"{i}. {text[:60]}..."] = {label: zm.predict([text], **options)[0]["summary"]
                                        for label, options in decodings.items()}
    return rows


def label(options: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items())


DEBIAN_REPORT_EVERY = 5        # 1,044 of the 5,217 Debian report pairs (CPU time)


def report_examples(name: str) -> list[dict]:
    pairs = corpus(name, "report")
    return pairs[::DEBIAN_REPORT_EVERY] if name == DATASETS[0] else pairs


def finish(src: str, out: str, sweep_file: str, chosen: str) -> None:
    """The shipped bundle: the fine-tuned bundle `src` with the decoding defaults of the
    sweep row `chosen` (its max_len goes into the preprocessor; beam, alpha and
    block_ngram are the host's defaults), measured per corpus on the report splits
    (greedy and the default decoding), the demo summaries, export parity, saved to `out`."""
    import zoo
    from zoo.recipes import export_parity

    zm = zoo.load(src)
    rows = json.loads(Path(sweep_file).read_text())
    options = rows[chosen]["options"]
    corpora = swept(rows)
    zm.preprocessor["max_len"] = options["max_len"]
    zm._host = None
    # Greedy and the best beam row of the sweep, both at the chosen max_len.
    beams = [r for r in rows if rows[r]["options"].get("beam", 1) > 1
             and rows[r]["options"]["max_len"] == options["max_len"]]
    beam = rows[max(beams, key=lambda r: rows[r]["mean rougeL"])]["options"] if beams else None
    decodings = {"greedy": {"beam": 1, "block_ngram": 0, "max_len": options["max_len"]}}
    if beam:
        decodings[f"beam {beam['beam']}, alpha {beam['alpha']}, block_ngram {beam['block_ngram']}"] = beam
    decodings = {lab + (" (default)" if o == options else ""): o for lab, o in decodings.items()}
    macro, table = measure_report(zm, decodings, corpora)
    valid_table = {r: {k: v for k, v in row.items() if k != "options"} for r, row in rows.items()}
    sel = rows[chosen]
    valid = {"rougeL": sel["mean rougeL"],
             **{f"{SHORT[n]} rougeL": sel[f"{SHORT[n]} rougeL"] for n in corpora},
             **{f"{SHORT[n]} lead_rougeL": sel[f"{SHORT[n]} lead_rougeL"] for n in corpora},
             "decoding sweep": valid_table,
             "data": "summarization/mix valid (mix.mixed_valid"
                     + ("" if corpora == DATASETS else ": " + ", ".join(corpora)) + ")"}
    zm.metrics.update(
        split=valid["data"], valid=valid,
        report=report_record(macro, table, corpora),
        reports={"the registry's demo inputs": {"summaries": demo_table(zm, decodings)}},
        splits=splits(chosen, valid["data"], corpora, soup="soup" in zm.metrics))
    # The recipe: the bundle's stages (the mix files before a fine-tune that read them),
    # then the sweep and this step (the sweep's grid is in metrics.json's valid "decoding
    # sweep"). A soup (zoo.soup) already lists its members' stages.
    stages = zm.metrics["command"].splitlines()
    if stages[-1].startswith("zoo fine-tune"):
        stages[-1:] = ["python -m zoo_pipelines.summarization.mix runs/summarization/mix", stages[-1]]
    grid = json.dumps([row["options"] for row in rows.values()], separators=(",", ":"))
    stages += [f"python -m zoo_pipelines.summarization.general sweep {src} '{grid}' {sweep_file}"
               + ("" if corpora == DATASETS else f" {','.join(corpora)}"),
               f"python -m zoo_pipelines.summarization.general finish {src} {out} {sweep_file} "
               f"'{chosen}'"]
    export_parity(zm, Path(out) / "export-check")
    zm.save(out, command="\n".join(stages))


def measure_report(zm, decodings: dict, corpora: tuple) -> tuple[dict, dict]:
    """ROUGE-1/2/L on each corpus's report split (report_examples) at each decoding (label ->
    options; the first is the headline's) beside the lead sentence: the macro means over the
    corpora of the first decoding, and the `per corpus` table."""
    mean, table = {}, {}
    for name in corpora:
        examples = report_examples(name)
        for lab, opts in decodings.items():
            t = time.time()
            m = evaluate(zm, examples, batch=128, **opts)
            print(f"report {name} {lab}: rougeL {m['rougeL']:.4f} (lead {m['lead_rougeL']:.4f}) "
                  f"{time.time() - t:.0f}s", flush=True)
            table[f"{SHORT[name]}, {lab}"] = {
                **{k: m[k] for k in ROUGE}, "vs lead (rougeL)": m["rougeL"] - m["lead_rougeL"],
                "mean_summary_words": m["mean_summary_words"], "examples": m["examples"]}
            mean.setdefault(name, m)
        m = mean[name]
        table[f"{SHORT[name]}, lead sentence"] = {
            **{k: m[f"lead_{k}"] for k in ROUGE}, "vs lead (rougeL)": 0.0, "examples": m["examples"]}
    macro = {k: sum(mean[n][k] for n in corpora) / len(corpora) for k in ROUGE}
    macro |= {f"lead_{k}": sum(mean[n][f"lead_{k}"] for n in corpora) / len(corpora) for k in ROUGE}
    return macro, table


def report_record(macro: dict, table: dict, corpora: tuple) -> dict:
    return {**macro, "per corpus": table,
            "data": "the report split of " + ", ".join(corpora)
                    + (" (Debian: every 5th pair)" if DATASETS[0] in corpora else "")}


def card_decodings(zm) -> dict:
    """The decodings a bundle's report table names (`finish` wrote them: "greedy", "beam 4,
    alpha 0.8, block_ngram 3", the default marked), label -> options, at its max_len.

    >>> class Z: preprocessor = {"max_len": 60}; metrics = {"report": {"per corpus": {
    ...     "BBC, greedy (default)": {}, "BBC, beam 4, alpha 0.8, block_ngram 3": {},
    ...     "BBC, lead sentence": {}}}}
    >>> card_decodings(Z())["beam 4, alpha 0.8, block_ngram 3"]
    {'beam': 4, 'alpha': 0.8, 'block_ngram': 3, 'max_len': 60}
    """
    out = {}
    for key in zm.metrics["report"]["per corpus"]:
        lab = key.split(", ", 1)[1]
        if lab == "lead sentence" or lab in out:
            continue
        pairs = lab.removesuffix(" (default)").split(", ")
        opts = ({"beam": 1, "block_ngram": 0} if pairs == ["greedy"] else
                {k: json.loads(v) for k, v in (p.split(" ") for p in pairs)})
        out[lab] = {**opts, "max_len": zm.preprocessor["max_len"]}
    return out


def card_corpora(zm) -> tuple:
    """The corpora a bundle's report table measured."""
    return tuple(n for n in DATASETS
                 if any(k.startswith(SHORT[n] + ", ") for k in zm.metrics["report"]["per corpus"]))


def remeasure(bundle: str) -> None:
    """The report split of a bundle `finish` wrote, measured again with the code as it is
    (its decodings, its corpora), and its demo summaries; nothing is chosen, the selection
    split's sweep is kept as run. For a change that moves the numbers without training
    (2026-12-07: text read through zoo.data.plain, NFKC and straight quotes)."""
    import zoo
    from zoo.bundle import resolve

    zm = zoo.load(bundle)
    decodings, corpora = card_decodings(zm), card_corpora(zm)
    macro, table = measure_report(zm, decodings, corpora)
    zm.metrics["report"] = report_record(macro, table, corpora)
    zm.metrics["reports"]["the registry's demo inputs"] = {"summaries": demo_table(zm, decodings)}
    zm.write_card(resolve(bundle))


def paired(a: list[float], b: list[float], seed: int = 0) -> dict:
    """The mean of a - b over paired scores, its standard error and a percentile-bootstrap
    95 % interval (scipy.stats.bootstrap, 10,000 resamples of the pairs).

    >>> r = paired([0.5, 0.4, 0.3, 0.6], [0.4, 0.4, 0.1, 0.5])
    >>> round(r["difference"], 3), round(r["se"], 3)
    (0.1, 0.041)
    >>> paired([0.5], [0.4])
    Traceback (most recent call last):
    zoo.errors.InputError: paired: 1 pair(s) of scores; expected at least 2 for a standard error and an interval
    """
    import numpy as np
    from scipy import stats

    d = np.asarray(a) - np.asarray(b)
    if len(d) < 2:      # scipy's own ValueError said nothing of which scores
        raise InputError(f"paired: {len(d)} pair(s) of scores; expected at least 2 for a "
                         f"standard error and an interval")
    ci = stats.bootstrap((d,), np.mean, confidence_level=0.95, n_resamples=10_000,
                         method="percentile", random_state=seed).confidence_interval
    return {"difference": float(d.mean()), "se": float(stats.sem(d)),
            "low": float(ci.low), "high": float(ci.high), "examples": len(d)}


def versus_lead(zm, corpora: tuple = DATASETS) -> dict:
    """Per corpus, on its report split (report_examples) at the bundle's default decoding:
    the model's ROUGE-L against the lead sentence's, pair by pair (`paired`)."""
    out = {}
    for name in corpora:
        examples = report_examples(name)
        refs = [e["summary"] for e in examples]
        preds = [r["summary"] for r in summarize(zm, [e["document"] for e in examples], batch=128)]
        model = rouge_each(preds, refs, ("rougeL",))["rougeL"]
        lead = rouge_each([lead_sentence(e["document"]) for e in examples], refs,
                          ("rougeL",))["rougeL"]
        out[SHORT[name]] = {"model": sum(model) / len(model), "lead": sum(lead) / len(lead),
                            **paired(model, lead)}
    return out


def swept(rows: dict) -> tuple:
    """The corpora a sweep file measured (its rows' `NAME rougeL` columns)."""
    first = next(iter(rows.values()))
    return tuple(n for n in DATASETS if f"{SHORT[n]} rougeL" in first)


def splits(chosen: str, valid_data: str, corpora: tuple = DATASETS, soup: bool = False) -> dict:
    """metrics.json's `splits`: what chose what, and how the report splits were carved
    (with the caveat on Debian, shown in the card beside the rule)."""
    epoch = "the epoch (greedy, max_len 24, on the fine-tune's validation file)"
    if soup:
        epoch = ("each fine-tune's epoch (greedy, max_len 24, on its validation file), which "
                 "bundles are averaged (zoo.soup: the soup with the best mean ROUGE-L of those "
                 "tried, README)")
    return {"valid": {"data": valid_data, "selection": True,
                      "chose": f"{epoch} and the decoding defaults (row `{chosen}` of the sweep: "
                               f"the best mean ROUGE-L over {', '.join(corpora)})"},
            "report": {"data": "report splits of " + ", ".join(corpora), "selection": False,
                       "rule": f"one group in ten of each train file: {REPORT_RULE}. "
                               f"{REPORT_NOTE}",
                       "note": REPORT_NOTE}}


REPORT_NOTE = ("Inshorts and BBC: untouched (the fine-tune read their train splits only). "
               "Debian: the base bundle this one was fine-tuned from was trained before report "
               "splits were carved, on the whole Debian train file, so its Debian report numbers "
               "are not from unseen packages (the 284 of its 5,501 report documents that also "
               "occur, under other source packages, in its train split are left out of the "
               "report split since 2026-12-07); the Debian valid file is the cleaner measure")


def read_sweep(path: str) -> dict:
    """The rows a `sweep` wrote to `path`, or a DataFormatError naming what is wrong (a
    missing file or a row name not in it failed as raw tracebacks after the bundle loaded)."""
    from zoo.data import existing
    from zoo.errors import DataFormatError

    text = existing(path, "sweep file").read_text(encoding="utf-8")
    try:
        rows = json.loads(text)
    except ValueError as e:
        raise DataFormatError(f"{path}: not JSON ({e}); expected the file `sweep` wrote") from None
    if (not isinstance(rows, dict) or not rows
            or not all(isinstance(r, dict) and "options" in r for r in rows.values())):
        raise DataFormatError(f"{path}: not a sweep's rows; expected the file `sweep` wrote")
    return rows


def read_grid(text: str) -> list[dict]:
    """GRID_JSON: a non-empty JSON list of decoding options (objects), else an InputError."""
    from zoo.errors import InputError

    try:
        grid = json.loads(text)
    except ValueError as e:
        grid = e
    if not isinstance(grid, list) or not grid or not all(isinstance(o, dict) for o in grid):
        raise InputError(f"GRID_JSON: expected a JSON list of decoding options, e.g. "
                         f"'[{{\"beam\": 1, \"max_len\": 24}}]'; got {text[:80]!r}")
    return grid


def main(argv=None) -> int:
    # argparse: sys.argv[1] alone failed with an IndexError (no arguments) or a TypeError
    # (--help went to finish())
    import argparse

    ap = argparse.ArgumentParser(prog="python -m zoo_pipelines.summarization.general",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True, metavar="sweep|finish|versus-lead|remeasure")
    s = sub.add_parser("sweep", help="ROUGE-L per corpus of each decoding on the selection split")
    s.add_argument("bundle", help="a summarize-attn name or bundle folder")
    s.add_argument("grid", metavar="GRID_JSON", help="a JSON list of decoding options")
    s.add_argument("out", metavar="SWEEP_JSON", help="file for the sweep's rows")
    s.add_argument("corpora", metavar="CORPORA", nargs="?",
                   help=f"comma-separated, of {', '.join(DATASETS)} (default: all three)")
    f = sub.add_parser("finish", help="the shipped bundle: a sweep row's decoding, measured")
    f.add_argument("bundle", help="the fine-tuned bundle the sweep measured")
    f.add_argument("out", help="folder for the bundle")
    f.add_argument("sweep", metavar="SWEEP_JSON", help="the file `sweep` wrote")
    f.add_argument("row", metavar="ROW", help="the chosen row's name (its label in SWEEP_JSON)")
    v = sub.add_parser("versus-lead", help="how far each report split tells it from the lead")
    v.add_argument("bundle", help="a summarize-attn name or bundle folder")
    r = sub.add_parser("remeasure", help="a finished bundle's report split measured again")
    r.add_argument("bundle", help="a summarize-attn name or bundle folder")
    args = ap.parse_args(argv)
    import zoo
    from zoo.errors import InputError
    from zoo.options import check_output_file

    if args.command == "sweep":
        grid = read_grid(args.grid)
        corpora = tuple(args.corpora.split(",")) if args.corpora else DATASETS
        unknown = set(corpora) - set(DATASETS)
        if unknown:
            raise InputError(f"CORPORA: unknown {', '.join(sorted(unknown))} (expected "
                             f"some of {', '.join(DATASETS)})")
        out = check_output_file(args.out, "SWEEP_JSON")      # before the sweep's hours
        res = sweep(zoo.load(args.bundle), {label(o): o for o in grid}, corpora)
        for row, o in zip(res.values(), grid):
            row["options"] = o
        out.write_text(json.dumps(res, indent=1))
    elif args.command == "versus-lead":
        model = zoo.load(args.bundle)
        print("| report split | pairs | model ROUGE-L | lead | difference | paired SE | "
              "bootstrap 95 % |\n|---|---:|---:|---:|---:|---:|---|")
        for corpus_name, r in versus_lead(model).items():
            print(f"| {corpus_name} | {r['examples']} | {r['model']:.4f} | {r['lead']:.4f} | "
                  f"{r['difference']:+.4f} | {r['se']:.4f} | "
                  f"[{r['low']:+.4f}, {r['high']:+.4f}] |")
    elif args.command == "remeasure":
        remeasure(args.bundle)
    else:
        rows = read_sweep(args.sweep)
        if args.row not in rows:
            raise InputError(f"ROW {args.row!r} is not a row of {args.sweep}; expected one "
                             f"of: {'; '.join(rows)}")
        finish(args.bundle, args.out, args.sweep, args.row)
    return 0


if __name__ == "__main__":
    sys.exit(script(main, "zoo_pipelines.summarization.general"))
