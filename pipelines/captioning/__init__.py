"""Image captioning: the `caption-cnn-lstm` entry (Show, Attend and Tell: a compact CNN
trained from scratch + an LSTM decoder with soft attention), trained on the emoji artwork
corpus (../shared/data/captioning/emoji: designer-drawn emoji captioned with their CLDR
names).

Work in progress: ENTRY is defined but not registered, and there is no pyproject entry
point yet, because the contract tests need a shipped bundle in saved_models/ first. To
ship: train it (`zoo.training` with ENTRY's recipe), then add `register(ENTRY)` here and
`captioning = "pipelines.captioning"` to pyproject's zoo.pipelines entry points.

>>> ENTRY.default_data
'captioning/emoji'
"""
from zoo.registry import Entry

ENTRY = Entry(
    name="caption-cnn-lstm",
    task="captioning",
    package="pipelines.captioning",
    summary="Show, Attend and Tell: a compact CNN (trained from scratch) and an LSTM decoder "
            "with soft attention; beam search on the host; attention maps per word",
    default_data="captioning/emoji",
    train_file="captions.tsv",          # one file, both splits (data.read_split)
    valid_file="captions.tsv",
    recipe={"image_size": 64, "grid": 8, "widths": [64, 128, 256], "cell": "lstm",
            "units": 256, "embed_dim": 128, "attention_dim": 128, "dropout": 0.3,
            "attention_reg": 1.0, "min_count": 2, "batch_size": 32, "epochs": 30,
            "patience": 5, "learning_rate": 2e-3, "clipnorm": 5.0, "monitor_gradients": False},
    paper={"bleu4 (Flickr8k test)": {"Xu et al. 2015 soft attention": 0.195},
           "bleu4 (COCO test)": {"Xu et al. 2015 soft attention": 0.2430}},
    bundle_dir="saved_models/caption-cnn-lstm",
    limits="Trained only on emoji artwork (Noto and Twemoji styles) with their Unicode CLDR "
           "names as captions: it names pictograms, not photographs. Captioning photographs "
           "needs `zoo train caption-cnn-lstm --data <Flickr8k or COCO folder>`. The encoder "
           "is trained from scratch (no ImageNet weights).",
    demo_inputs=(),
)
