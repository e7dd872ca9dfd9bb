"""Every shipped card has what a Hugging Face or KerasHub user looks for in a model card
(Mitchell et al. 2019): model details with version and licence, intended and out-of-scope
use, training data with source and licence, a usage example that runs as written, and a
citation; and it is what zoo/card.py renders now from the bundle's metrics.json."""
import json
import os
import re
from pathlib import Path

import pytest

import zoo
from zoo import registry

SHIPPED = [name for e in map(registry.get, registry.names()) if e.shipped
           for name in [e.name, *e.presets]]
SECTIONS = ("- version: rnn-zoo ", "- license: ", "## Intended use and limits", "Out of scope: ",
            "## How to use", "## Training data", "## Citation")


def card(name: str) -> str:
    return zoo.bundle.read_card(name)


def test_eleven_bundles_are_shipped():
    assert len(SHIPPED) == 11, SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_card_has_the_sections(name):
    text = card(name)
    assert text.startswith(f"# {name}\n")       # a preset's card was titled music-lstm
    missing = [s for s in SECTIONS if s not in text]
    assert not missing, f"{name}: {missing}"


@pytest.mark.parametrize("name", SHIPPED)
def test_card_example_runs(name, shipped, monkeypatch, capsys):
    """The card's own three lines, run as written (zoo.load served from the session's
    copy, so each bundle loads once)."""
    code = re.search(r"## How to use\n\n```python\n(.*?)```", card(name), re.S).group(1)
    assert len(code.strip().splitlines()) == 3 and f'zoo.load("{name}")' in code
    shipped(name)                               # loaded (and cached) before zoo.load is
    monkeypatch.setattr(zoo, "load", shipped)   # patched to the cache
    exec(compile(code, f"{name} card", "exec"), {})
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("name", registry.names())
def test_data_licence_names_the_dataset_readme(name):
    """Each dataset's line gives its licence and the section of $ZOO_DATA/README.md that
    says so; the section exists (a licence is taken from it, not guessed)."""
    readme = (Path(os.environ["ZOO_DATA"]) / "README.md").read_text(encoding="utf-8")
    entry = registry.get(name)
    lines = card(name).split("## Training data\n\n")[1].split("\n\n")[0].splitlines()
    assert len(lines) == len(entry.data) >= 1
    for d, line in zip(entry.data, lines):
        assert f"Licence: {d['license']}" in line
        if d.get("readme"):
            assert f'`$ZOO_DATA/README.md`, "{d["readme"]}"' in line
            assert f"### {d['readme']} (" in readme, d["readme"]
    assert any(d.get("readme") for d in entry.data)


@pytest.mark.parametrize("name", SHIPPED)
def test_card_is_what_the_code_renders(name, shipped):
    """card.md is re-rendered by write_card, never edited: a new section in zoo/card.py
    shows in every shipped card once they are re-rendered."""
    from zoo.card import render_card

    directory = zoo.bundle.resolve(name)
    # the bundle's own metrics: the session's model holds the parity of any export an
    # earlier test made of it
    m = shipped(name)
    kept, m.metrics = m.metrics, json.loads((directory / "metrics.json").read_text())
    try:
        assert render_card(m, directory) == (directory / "card.md").read_text()
    finally:
        m.metrics = kept


def test_a_trained_bundle_is_loaded_by_its_folder(shipped, tmp_path):
    """A card of zoo train's or fine-tune's bundle told the user to load the registered
    model; it names its folder instead (no machine's own path in it)."""
    import shutil

    from zoo.card import render_card

    shutil.copytree(zoo.bundle.resolve("charlm-lstm"), tmp_path / "run")
    text = render_card(shipped("charlm-lstm"), tmp_path / "run")
    assert 'zoo.load("path/to/this/bundle")' in text and 'zoo.load("charlm-lstm")' not in text


def test_a_fine_tune_says_so_under_its_summary_and_a_shipped_recipe_does_not(shipped, tmp_path):
    """A fine-tune's card opened with the registered model's summary and said otherwise only
    under its limits; the shipped caption and summarizer cards, whose recipes end in a
    fine-tune, said their limits described another model than themselves."""
    import shutil

    from zoo.card import render_card

    m = shipped("caption-cnn-lstm")
    assert "fine-tuned on" not in render_card(m, zoo.bundle.resolve("caption-cnn-lstm"))
    shutil.copytree(zoo.bundle.resolve("caption-cnn-lstm"), tmp_path / "run")
    kept, m.metrics = m.metrics, {**m.metrics, "fine_tuned_on": "my_emoji/train.csv"}
    try:
        text = render_card(m, tmp_path / "run")
    finally:
        m.metrics = kept
    assert text.split("\n")[4] == ("Fine-tuned from `caption-cnn-lstm` on `my_emoji/train.csv`: "
                                   "the line above describes `caption-cnn-lstm`.")
    assert "This bundle was fine-tuned on `my_emoji/train.csv`" in text
