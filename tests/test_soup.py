"""zoo.soup: bundles of one model averaged weight by weight into a bundle that loads,
predicts and carries its members' recipes; bundles that cannot be averaged are refused."""
import numpy as np
import pytest

from zoo.errors import InputError


@pytest.fixture(scope="module")
def two_forecasters(tiny, tmp_path_factory):
    """Two bundles of one tiny forecast-lstm, the second's weights moved by +1."""
    zm = tiny("forecast-lstm")
    root = tmp_path_factory.mktemp("soup")
    weights = zm.keras_model.get_weights()
    zm.save(root / "a", command="zoo train forecast-lstm --out a")
    zm.keras_model.set_weights([w + 1 for w in weights])
    zm.save(root / "b", command="zoo train forecast-lstm --out a\nzoo fine-tune a --out b")
    zm.keras_model.set_weights(weights)
    return root, weights


def test_soup_averages_the_weights_and_keeps_the_recipes(two_forecasters):
    import zoo
    from zoo.soup import soup

    root, weights = two_forecasters
    soup([root / "a", root / "b"], root / "soup")
    got = zoo.load(root / "soup")
    for w, s in zip(weights, got.keras_model.get_weights()):
        np.testing.assert_allclose(s, w + 0.5, rtol=1e-6)
    assert got.metrics["command"].splitlines() == [
        "zoo train forecast-lstm --out a", "zoo fine-tune a --out b",
        f"python -m zoo.soup {root / 'soup'} {root / 'a'} {root / 'b'}"]
    assert got.metrics["soup"]["weights"] == "uniform"
    assert "report" not in got.metrics        # the first's measurements are not the soup's


def test_soup_refuses_what_cannot_be_averaged(two_forecasters, tiny, tmp_path):
    import zoo
    from zoo.soup import average_weights, soup

    root, _ = two_forecasters
    with pytest.raises(InputError, match="at least two bundles"):
        soup([root / "a"], tmp_path / "x")
    with pytest.raises(InputError, match="model 1 has other weight shapes"):
        average_weights([[np.ones(2)], [np.ones(3)]])
    tiny("music-lstm").save(tmp_path / "music")
    with pytest.raises(InputError, match="a music-lstm bundle; expected forecast-lstm"):
        soup([root / "a", tmp_path / "music"], tmp_path / "x")
    other = zoo.load(root / "a")        # the same weights, other statistics or vocabulary
    key = next(k for k, v in other.preprocessor.items() if isinstance(v, (list, dict)))
    value = other.preprocessor[key]
    other.preprocessor[key] = value + [0] if isinstance(value, list) else {**value, "x": 0}
    other.save(tmp_path / "other")
    with pytest.raises(InputError, match=f"preprocessor's `{key}` differs"):
        soup([root / "a", tmp_path / "other"], tmp_path / "x")


def test_soup_refuses_a_repeated_bundle_and_an_out_it_must_not_write(two_forecasters, tmp_path):
    """A bundle named twice weighed twice in a soup recorded as "uniform"; OUT the shipped
    bundle replaced the pretrained model; OUT a file was a raw FileExistsError."""
    import zoo
    from zoo.soup import soup

    root, _ = two_forecasters
    with pytest.raises(InputError, match="the same bundle named more than once"):
        soup([root / "a", root / "b", root / "a"], tmp_path / "x")
    shipped = zoo.registry.get("ner-bilstm").bundle_path
    before = (shipped / "manifest.json").read_bytes()
    with pytest.raises(InputError, match="is inside the shipped bundle of ner-bilstm"):
        soup([root / "a", root / "b"], shipped)
    assert (shipped / "manifest.json").read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    with pytest.raises(InputError, match="a file, not a folder; expected OUT"):
        soup([root / "a", root / "b"], notes)
    assert not (tmp_path / "x").exists()
