"""Model cards, rendered from metrics.json (written by the evaluator, never by hand).

>>> from zoo.card import format_metric
>>> format_metric(0.91234)
'0.9123'
"""
from __future__ import annotations

import json
from pathlib import Path


def format_metric(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def terminal_text(markdown: str, cell: int = 40, width: int | None = None) -> str:
    """A card for a terminal (`zoo info` with stdout on one): each markdown table's columns
    aligned, its `|---|` line a rule, and a cell over `cell` characters cut ("..."), where
    raw pipes ran the fine-tuning tables to ~250-character lines. The rest is
    left as written; piped or redirected, `zoo info` prints the markdown itself.
    A table still wider than `width` (the terminal's) is folded, one row a block of
    "column: value" lines, its cells whole and wrapped: aligned, a ten-column table at
    COLUMNS=60 wrapped each row over four screen lines, and no column could be read.

    >>> print(terminal_text("| metric | value |\\n|---|---|\\n| f1 | 0.9390 |"))
    metric  value
    ------  ------
    f1      0.9390
    >>> print(terminal_text("| | precision | recall |\\n|---|---|---|\\n| LOC | 0.95 | 1.0 |",
    ...                     width=20))
    LOC
      precision: 0.95
      recall: 1.0
    """
    import re
    import textwrap

    def cells(line: str) -> list[str]:
        return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]

    def cut(c: str) -> str:
        return c if len(c) <= cell else c[:cell - 3] + "..."

    out, table = [], []

    def fold(rows: list[list[str]]) -> list[str]:
        head, lines = rows[0], []
        for row in rows[1:]:
            lines.append(f"{head[0]}: {row[0]}" if head[0] else row[0])
            for name, value in zip(head[1:], row[1:]):
                lines += textwrap.wrap(f"{name}: {value}" if name else value, max(width, 20),
                                       initial_indent="  ", subsequent_indent="    ",
                                       break_on_hyphens=False) or ["  " + name + ":"]
        return lines

    def flush():
        if table:
            rows = [r for r in table if not all(set(c) <= set("-: ") for c in r)]
            short = [[cut(c) for c in r] for r in rows]
            n = max(map(len, short))
            widths = [max(len(r[i]) if i < len(r) else 0 for r in short) for i in range(n)]
            if width and len(rows) > 1 and sum(widths) + 2 * (n - 1) > width:
                out.extend(fold(rows))
            else:
                lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in short]
                out.extend(lines[:1] + ["  ".join("-" * w for w in widths)] + lines[1:])
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(cells(line))
        else:
            flush()
            out.append(line)
    flush()
    return "\n".join(out)


def metric_tables(metrics: dict) -> list[str]:
    """A markdown table of the flat numbers (none when there are none), then one table
    per nested {row: {col: value}}.

    >>> metric_tables({"f1": 0.5})
    ['| metric | value |', '|---|---|', '| f1 | 0.5000 |']
    >>> metric_tables({"summaries": {"1.": {"greedy": "gnu emacs editor"}}})[:2]
    ['`summaries`:', '']
    """
    flat = [f"| {k} | {format_metric(v)} |" for k, v in metrics.items()
            if isinstance(v, (int, float))]
    lines = ["| metric | value |", "|---|---|", *flat] if flat else []
    for name, table in metrics.items():
        if isinstance(table, dict) and table and all(isinstance(r, dict) for r in table.values()):
            cols = list(dict.fromkeys(c for r in table.values() for c in r))
            lines += ["", f"`{name}`:", "", f"| | {' | '.join(cols)} |", "|---" * (len(cols) + 1) + "|"][not lines:]
            lines += [f"| {row} | {' | '.join(format_metric(r.get(c, '')) for c in cols)} |"
                      for row, r in table.items()]
    return lines


def variants_table(base: dict, runs: dict, label: str = "shipped") -> dict:
    """{label: {"command", flat valid metrics...}} for the bundle's own run (`label`:
    bundle_label's) and each other run; a run is labelled by the hyper-parameters in which
    it differs from the bundle's.

    >>> base = {"valid": {"nll": 5.3}, "hparams": {"head": "nade", "units": 256}}
    >>> other = {"valid": {"nll": 8.1}, "hparams": {"head": "sigmoid", "units": 256},
    ...          "command": "zoo train music-lstm --hparam head=sigmoid"}
    >>> variants_table(base, {"runs/sig": other})["head=sigmoid"]["nll"]
    8.1
    """
    from .errors import ZooError

    def flat(metrics: dict) -> dict:
        return {k: v for k, v in metrics.get("valid", {}).items() if isinstance(v, (int, float))}

    def own(metrics: dict) -> dict:             # what the run wrote, not an earlier table
        return {k: v for k, v in metrics.items() if k != "variants"}

    table = {label: {"command": base.get("command", ""), **flat(base)}}
    hparams = base.get("hparams", {})
    for where, m in runs.items():
        # The bundle itself (or a copy) made a row equal to its own; a metrics.json with
        # no validation numbers made a row, and a table, with no columns.
        if own(m) == own(base):
            raise ZooError(f"{where}: its metrics.json is the bundle's own (the bundle itself "
                           f"or a copy of it); expected another run of the model (zoo train "
                           f"--out)")
        if not flat(m):
            raise ZooError(f"{where}: metrics.json has no validation metrics; expected a run "
                           f"trained and evaluated by zoo train")
        hp = m.get("hparams", {})
        label = ", ".join(f"{k}={hp.get(k)}" for k in sorted(set(hp) | set(hparams))
                          if hp.get(k) != hparams.get(k)) or Path(where).name
        # Two runs that differ from the bundle's in the same way (another seed, runs/a/x
        # and runs/b/x) had one label: the second row replaced the first.
        for label in dict.fromkeys([label, f"{label} ({Path(where).name})", str(where)]):
            if label not in table:
                break
        table[label] = {"command": m.get("command", where), **flat(m)}
    return table


def bundle_label(entry, directory: str | Path) -> str:
    """The variants table's name for the bundle whose card gets it: "shipped" for the
    package's own weights (a preset's too), else what it is. A bundle of the user's (zoo
    train's --out, a fine-tune, the one zoo pull stored, which zoo.load(NAME) then reads)
    was labelled "shipped" too. No machine's own path: an absolute folder by its name.

    >>> import zoo
    >>> bundle_label(zoo.registry.get("ner-bilstm"), "runs/ner/")
    'this bundle (runs/ner)'
    """
    from .hub import pulled

    here = Path(directory).resolve()
    shipped = [entry.bundle_path, *map(entry.preset_path, entry.presets)]
    if any(p is not None and p.resolve() == here for p in shipped):
        return "shipped"
    if (mine := pulled(entry.name)) is not None and mine.resolve() == here:
        return f"this bundle (stored by zoo pull for {entry.name})"
    given = Path(directory)
    return f"this bundle ({given.name if given.is_absolute() else given.as_posix()})"


def render_variants(table: dict, headline: str, max_cols: int = 8) -> list[str]:
    """The card's "Variants" section: headline first, then the first other metrics every
    run has (all of them are in metrics.json)."""
    own = next(iter(table.values()))        # the bundle's own row (bundle_label)
    cols = [c for c in own if c != "command" and all(c in r for r in table.values())]
    cols = sorted(cols, key=lambda c: c != headline)[:max_cols]
    lines = ["", "## Variants (other runs, same validation split)", "",
             f"| run | {' | '.join(cols)} |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {label} | {' | '.join(format_metric(r[c]) for c in cols)} |"
              for label, r in table.items()]
    # A fine-tuned run's command has one line per stage: `stage 1`, then `stage 2`.
    lines += ["", "Commands:", ""] + [
        f"- {label}: " + ", then ".join(f"`{c}`" for c in r["command"].splitlines())
        for label, r in table.items()]
    return lines


def render_studies(studies: dict) -> list[str]:
    """metrics.json's `studies`: measurements of the model beyond its own splits (e.g.
    fine-tuning it on a new domain), each written by the script that ran them, with its
    title, a note on which split chose what, a table (rows of equal keys) and the command.

    >>> render_studies({"wiki": {"title": "T", "note": "N", "command": "C",
    ...                          "rows": [{"lever": "a", "f1": 0.5}]}})[5:8]
    ['| lever | f1 |', '|---|---|', '| a | 0.5000 |']
    """
    lines = []
    for study in studies.values():
        cols = list(study["rows"][0])
        lines += ["", f"## {study['title']}", "", study["note"], "",
                  f"| {' | '.join(cols)} |", f"|{'---|' * len(cols)}"]
        lines += [f"| {' | '.join(format_metric(r[c]) for c in cols)} |"
                  for r in study["rows"]]
        # benchmarks/ stays in the checkout (pyproject.toml): a pip user's `python -m
        # benchmarks...` was "No module named benchmarks", unexplained
        where = (" (from a source checkout of rnn-zoo: benchmarks/ is not installed)"
                 if study["command"].startswith("python -m benchmarks") else "")
        lines += ["", f"Re-run: `{study['command']}`{where}"]
    return lines


def other_data_note(entry, metrics: dict, labels: list | None = None) -> list[str]:
    """The entry's limits describe its registered data; a bundle trained or fine-tuned on
    other data says so under them.

    >>> from zoo.registry import Entry
    >>> e = Entry(name="m", task="t", package="p", summary="", default_data="poly",
    ...           train_file="jsb.npz", valid_file="jsb.npz")
    >>> other_data_note(e, {"split": "poly/jsb.npz"})
    []
    >>> other_data_note(e, {"split": "poly/nott.npz [valid]"})[0][:44]
    'This bundle was trained on other data than t'
    >>> other_data_note(e, {"split": "poly/jsb.npz", "fine_tuned_on": "poly/jsb.npz"})
    []
    """
    registered = f"{entry.default_data}/{entry.train_file}"
    if metrics.get("fine_tuned_on") not in (None, registered):
        how = f"fine-tuned on `{metrics['fine_tuned_on']}`"
        if metrics.get("rehearsal"):        # what it replayed so as not to forget
            r = metrics["rehearsal"]
            how += (f" with the train split of `{r['data']}` mixed in ({r['old_examples']} "
                    f"examples beside the {r['new_examples']} new ones, repeated {r['repeats']}x)")
    elif metrics.get("split") not in (None, f"{entry.default_data}/{entry.valid_file}"):
        how = f"trained on other data than the registered recipe's (validation: `{metrics['split']}`)"
    else:
        return []
    return [f"This bundle was {how}: where the limits above name the training data, they "
            f"describe the registered `{entry.name}` model, not this one.", "",
            *labels_note(metrics.get("labels"), labels)]


def fine_tuned_from(entry, metrics: dict) -> str | None:
    """"fine-tuned from `NAME` on `DATA`" for a bundle fine-tuned on other data than the
    registered recipe's, else None (the card's line, the server's model summary).

    >>> from zoo.registry import Entry
    >>> e = Entry(name="m", task="t", package="p", summary="", default_data="d",
    ...           train_file="train.txt", valid_file="valid.txt")
    >>> fine_tuned_from(e, {"fine_tuned_on": "my/train.conll"})
    'fine-tuned from `m` on `my/train.conll`'
    >>> fine_tuned_from(e, {"fine_tuned_on": "d/train.txt"}) is None
    True
    """
    tuned = metrics.get("fine_tuned_on")
    if tuned in (None, f"{entry.default_data}/{entry.train_file}"):
        return None
    return f"fine-tuned from `{entry.name}` on `{tuned}`"


def fine_tuned_line(entry, metrics: dict) -> list[str]:
    """Under the summary, which is the registered model's, a fine-tune says what it was
    fine-tuned on: a WikiANN fine-tune's card opened on "CoNLL-2003" and said otherwise
    only under its limits, forty lines down.

    >>> from zoo.registry import Entry
    >>> e = Entry(name="m", task="t", package="p", summary="", default_data="d",
    ...           train_file="train.txt", valid_file="valid.txt")
    >>> fine_tuned_line(e, {"fine_tuned_on": "my/train.conll"})[0]
    'Fine-tuned from `m` on `my/train.conll`: the line above describes `m`.'
    >>> fine_tuned_line(e, {"fine_tuned_on": "d/train.txt"})
    []
    >>> fine_tuned_line(e, {"fine_tuned_on": "d/train.txt", "split": "dev.conll",
    ...                     "kept": {"why": "keeping epoch 2 of 3"}})[0]
    'Chosen on `dev.conll` against the model it started from (epoch 0): keeping epoch 2 of 3.'
    """
    tuned, kept = fine_tuned_from(entry, metrics), metrics.get("kept", {}).get("why")
    # which epoch the bundle is, scored against the model it started from (epoch 0)
    kept = [f"Chosen on `{metrics.get('split')}` against the model it started from (epoch "
            f"0): {kept}.", ""] if kept else []
    if tuned is None:
        return kept
    return [f"F{tuned[1:]}: the line above describes `{entry.name}`.", "", *kept]


def buckets_note(metrics: dict) -> list[str]:
    """A fine-tune that added a length bucket (speech-ctc's grow_preprocessor, for data
    longer than the largest) says so: the bundle trained on those examples whole, and where
    its predict() splits a long input (a bidirectional speech model) it is at the new
    largest bucket, not the earlier one.

    >>> print(buckets_note({"buckets_grown": {"from": [400, 800], "to": [400, 800, 1200]}})[0])
    Its length buckets: 400, 800, 1200 (the model it was fine-tuned from: 400, 800), grown for the fine-tuning data's longest example, which was trained on whole rather than cut; where predict() splits a long input, it is at 1200, not 800.
    >>> buckets_note({})
    []
    """
    grown = metrics.get("buckets_grown")
    if not grown:
        return []
    return [f"Its length buckets: {', '.join(map(str, grown['to']))} (the model it was "
            f"fine-tuned from: {', '.join(map(str, grown['from']))}), grown for the "
            f"fine-tuning data's longest example, which was trained on whole rather than cut; "
            f"where predict() splits a long input, it is at {max(grown['to'])}, not "
            f"{max(grown['from'])}.",
            ""]


def labels_note(change: dict | None, labels: list | None) -> list[str]:
    """A fine-tune that added or replaced labels says which it predicts: the summary and
    the limits above name the registered model's (a card of a model tagging PRODUCT that
    named only PER, LOC, ORG, MISC misdescribed it).

    >>> labels_note({"how": "merged", "added": ["B-X"], "untagged": ["B-Y"]}, ["O", "B-X"])[0][:43]
    'Its labels: O, B-X (new: B-X; B-Y kept from'
    >>> labels_note(None, ["O"])
    []
    """
    if not change:
        return []
    told = ", ".join(labels) if labels else "the fine-tuning data's"
    new = f"new: {', '.join(change['added'])}" if change.get("added") else "none new"
    if change.get("how") == "replaced":
        return [f"Its labels: {told} (the registered model's replaced; {new}).", ""]
    kept = (f"; {', '.join(change['untagged'])} kept from the registered model but not in the "
            f"fine-tuning data" if change.get("untagged") else "")
    return [f"Its labels: {told} ({new}{kept}).", ""]


NO_UNTOUCHED = ("This bundle was trained before the zoo carved report splits, on a train "
                "split that still held what is now the report split, so no number here is "
                "one that nothing was chosen on. Retrain it to get one.")


def measured_sections(entry, m: dict) -> list[str]:
    """The report split first (the headline: nothing was chosen on it), then the selection
    split, labelled with what was chosen on it; or, with no report split, a sentence that
    says so. The rule behind each split is metrics.json's `splits`."""
    evaluate = entry.module("evaluate")
    direction = "higher" if evaluate.GREATER_IS_BETTER else "lower"
    splits = m.get("splits", {})
    report_info, valid_info = splits.get("report", {}), splits.get("valid", {})
    lines = [f"Headline metric: `{evaluate.HEADLINE}` ({direction} is better).", ""]
    if splits.get("train"):             # zoo train's runs say what they were trained on
        lines += [f"Trained on `{splits['train']['data']}` ({splits['train']['examples']:,} "
                  f"examples).", ""]
    if m.get("report"):
        lines += [f"## Report split `{m['report'].get('data', '?')}`: nothing was chosen on it",
                  "", f"How it is carved: {report_info.get('rule', '?')}"
                  + (f" ({report_info['left_out']:,} left out here)"
                     if report_info.get("left_out") else "") + ".", "",
                  *metric_tables(m["report"]), ""]
    else:
        lines += ["## No untouched split", "",
                  f"{report_info.get('note') or NO_UNTOUCHED}", ""]
    chose = valid_info.get("chose", "the epoch (and any seed, hyper-parameter or decoding "
                                    "setting tuned on it)")
    lines += [f"## Selection split `{m['valid'].get('data', m.get('split', '?'))}`: chose "
              f"{chose}", "",
              "Numbers on the split that chose are optimistic.", "",
              *metric_tables(m["valid"])]
    return lines


def distribution_line(d: dict | None) -> list[str]:
    """How the run was spread over workers (metrics.json's `distribution`), for the recipe.

    >>> distribution_line({"strategy": "multi_worker", "workers": 2, "replicas": 2,
    ...                    "global_batch": 32, "per_replica_batch": 16})[0][:60]
    'Trained under tf.distribute `multi_worker`: 2 workers, 2 rep'
    """
    if not d:
        return []
    return [f"Trained under tf.distribute `{d['strategy']}`: {d['workers']} worker"
            f"{'s' * (d['workers'] != 1)}, {d['replicas']} replica{'s' * (d['replicas'] != 1)} "
            f"in sync; global batch {d['global_batch']} (the recipe's batch_size), "
            f"{d['per_replica_batch']} per replica; learning rate and steps as the recipe "
            f"says.", ""]


def preset_name(entry, directory: Path) -> str:
    """The name `zoo.load` knows the bundle at `directory` by: one of the entry's presets
    (music-lstm-nottingham), else the entry's own (a preset's card was titled music-lstm)."""
    here = Path(directory).resolve()
    return next((p for p in entry.presets if entry.preset_path(p).resolve() == here), entry.name)


def versions_line() -> str:
    """The versions that write this card, as write_manifest records them just after."""
    from .bundle import WRITERS, versions

    zoo, keras, tf = versions(*WRITERS).values()
    return f"- version: rnn-zoo {zoo} (Keras {keras}, TensorFlow {tf})"


def license_line() -> str:
    """The package's licence (pyproject.toml); the shipped weights travel in the package."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        told = metadata("rnn-zoo").get("License-Expression") or "see LICENSE"
    except PackageNotFoundError:        # a checkout not pip-installed
        told = "see LICENSE"
    return (f"- license: {told} (the rnn-zoo package, shipped weights included); the training "
            f"data keep their own terms (Training data below)")


def usage_section(name: str, example: str) -> list[str]:
    """Three lines that load the bundle and predict on the entry's `example`, as written.

    >>> usage_section("m", "[1]")[4]
    'm = zoo.load("m")'
    """
    if not example:
        return []
    head = "import numpy as np, zoo" if "np." in example else "import zoo"
    example, _, note = example.partition("  # ")        # a comment goes after the call
    return ["## How to use", "", "```python", head, f'm = zoo.load("{name}")',
            f"print(m.predict({example}))" + (f"  # {note}" if note else ""), "```", "",
            f"More: `zoo info {name}`, `zoo predict {name} --help` and the README's Python API."]


def data_section(entry) -> list[str]:
    """One line per training dataset: what, from where, under which terms, and where the
    dataset README says so (the card repeats it; the README is the record)."""
    if not entry.data:
        return []
    return ["", "## Training data", ""] + [
        f"- {d['name']}: {d['source']}. Licence: {d['license']}"
        + (f" (`$ZOO_DATA/README.md`, \"{d['readme']}\")." if d.get("readme") else ".")
        for d in entry.data]


def drift_line(entry, m: dict) -> list[str]:
    """What a one-stage `zoo train` command recorded in metrics.json needs today to give
    these weights: the hyper-parameters it trained with that the recipe's defaults have
    since changed and the command does not set (ner-bilstm's length buckets, 2026-12-05:
    the recorded command trained other weights).

    >>> e = type("E", (), {"hparams": lambda self: {"buckets": [8, 16], "units": 200}})()
    >>> drift_line(e, {"command": "zoo train x --out r", "hparams": {"buckets": [16], "units": 200}})
    ['The recipe has changed since: add `--hparam buckets=[16]` for these weights.', '']
    """
    command = m.get("command", "")
    if not command.startswith("zoo train") or "\n" in command:
        return []
    now = entry.hparams()
    changed = [f"--hparam {k}={json.dumps(v).replace(' ', '')}"
               for k, v in m.get("hparams", {}).items()
               if k in now and now[k] != v and f"{k}=" not in command
               and f"--{k.replace('_', '-')} " not in command]      # --epochs 25
    return [f"The recipe has changed since: add `{' '.join(changed)}` for these weights.",
            ""] if changed else []


def render_card(zm, directory: Path, shown_as: Path | None = None) -> str:
    """The card of the bundle whose files are in `directory`, for the folder `shown_as`
    (where ZooModel.save swaps the staged bundle in; `directory` itself if None)."""
    e, m = zm.entry, zm.metrics
    valid = m.get("valid", {})
    size_mb = sum(p.stat().st_size for p in Path(directory).iterdir() if p.is_file()) / 2**20
    directory = Path(shown_as if shown_as is not None else directory)
    name = preset_name(e, directory)
    # the registered bundle itself: its recipe may end in a fine-tune (caption-cnn-lstm's,
    # summarize-attn's), and what the card says of "this model" is then the registered one
    shipped = bool(e.bundle_path) and directory.resolve() == e.bundle_path.resolve()
    lines = [f"# {name}", "", e.summary, "",
             *([] if shipped else [*fine_tuned_line(e, m), *buckets_note(m)]),
             *([f"A preset of `{e.name}`: the same model trained on other data.", ""]
               if name != e.name else []),
             f"- task: `{e.task}`", f"- parameters: {zm.keras_model.count_params():,}",
             f"- bundle size: {size_mb:.1f} MB (before this card)",
             versions_line(), license_line(), ""]
    if valid:
        lines += measured_sections(e, m)
        for split, report in m.get("reports", {}).items():
            lines += ["", f"## Also measured on `{split}`", ""]
            lines += metric_tables(report)
    else:
        lines += ["## Metrics", "", "Not evaluated yet: run `zoo evaluate DIR --data FILE`."]
    if m.get("variants"):
        lines += render_variants(m["variants"], e.module("evaluate").HEADLINE)
    lines += render_studies(m.get("studies", {}))
    seeds = m.get("seeds")
    if seeds and len(seeds.get("values", [])) > 1:
        lines += ["", f"Over {len(seeds['values'])} seeds ({seeds['seeds']}): mean "
                  f"{seeds['mean']:.4f}, standard deviation {seeds['stdev']:.4f} "
                  f"(values {', '.join(f'{v:.4f}' for v in seeds['values'])}); the best is shipped."]
    if e.paper:
        lines += ["", "## The papers' numbers and the targets", "", "| metric | paper | value |", "|---|---|---|"]
        lines += [f"| {k} | {p} | {v} |" for k, d in e.paper.items() for p, v in d.items()]
    if m.get("parity"):
        lines += ["", "## Export parity (against the Keras model)", "",
                  "| format | agreement | max abs diff | examples |", "|---|---|---|---|"]
        lines += [f"| {fmt} | {r['agreement']:.4f} | "
                  f"{'n/a (task outputs compared)' if r['max_abs_diff'] is None else format(r['max_abs_diff'], '.2e')}"
                  f" | {r['examples']} |" for fmt, r in m["parity"].items()]
        measure = (zm.host().agreement.__doc__ or "").strip().split("\n")[0].rstrip(".")
        lines += ["", f"Agreement, on real held-out examples: {measure[:1].lower() + measure[1:]} "
                  "(the export's against the Keras model's); max abs diff: the largest difference "
                  "of raw model outputs."]
    if m.get("speed"):
        lines += ["", "## Speed", "", "```", json.dumps(m["speed"], indent=1), "```"]
    lines += ["", "## Recipe", "", "Reproduce with:", "", "```",
              m.get("command", f"zoo train {e.name} --out DIR"), "```", "",
              *drift_line(e, m),
              *distribution_line(m.get("distribution")),
              "Hyper-parameters:", "", "```", json.dumps(m.get("hparams", zm.hparams), indent=1),
              "```", "", "## Intended use and limits", "",
              e.limits or "See README.md.", ""]
    if not shipped:     # the shipped caption card said its limits described another model
        lines += other_data_note(e, m, zm.preprocessor.get("labels"))
    if e.out_of_scope:
        lines += [f"Out of scope: {e.out_of_scope}", ""]
    # a bundle of zoo train or fine-tune is loaded by its folder, not the registered name
    lines += usage_section(name if shipped or name != e.name else "path/to/this/bundle",
                           e.example)
    lines += data_section(e)
    if e.citation:
        lines += ["", "## Citation", "", *[f"- {c}" for c in e.citation]]
    return "\n".join(lines).rstrip("\n") + "\n"
