"""Character-level language modelling and text generation: the `charlm-lstm` entry
(Tiny Shakespeare).

Importing this package registers the entry only; TensorFlow loads on first use.

>>> import zoo
>>> zoo.registry.get("charlm-lstm").default_data
'text/tinyshakespeare'
"""
from zoo.registry import register

register(
    name="charlm-lstm",
    task="text generation",
    package="zoo_pipelines.charlm",
    summary="Character-level LSTM language model: writes in the style of its corpus "
            "(temperature, top-k, top-p, seeded), scores texts in bits per character",
    default_data="text/tinyshakespeare",
    train_file="train.txt",
    valid_file="valid.txt",
    recipe={"data": {"seq_len": 128},
            "model": {"cell": "lstm", "units": 512, "layers": 1, "embed": 64, "dropout": 0.1},
            "fit": {"batch_size": 64, "epochs": 20, "patience": 3, "learning_rate": 2e-3,
                    "clipnorm": 5.0}},
    tiny={"seq_len": 32, "units": 16, "embed": 8},
    paper={"nats_per_char": {"nanoGPT char-level Shakespeare (GPU, 6-layer transformer, "
                             "its own split)": 1.47},
           "target (issue)": {"report split nats_per_char": "<= 1.55",
                              "valid bits_per_char": "best n-gram - 0.3 or less"}},
    bundle_dir="saved_models/charlm-lstm",
    # Export parity: sampled text goes its own way after the first character int8 weights
    # flip (agreement is the share of characters before it); float exports must match.
    quantized_agreement=0.1,
    demo_inputs=("ROMEO:",),
    limits="Writes pastiche of the text it was trained on (Shakespeare's plays, about 1 M "
           "characters): plausible spelling and layout, little sense. Characters it never saw "
           "count as one unknown symbol. Not a source of facts; fine-tune it on your own text "
           "(a folder of .txt files) to write like that.",
    out_of_scope="Facts, advice, or text passed off as a person's words.",
    example='["ROMEO:"]',
    data=({"name": "Tiny Shakespeare (40,000 lines of Shakespeare's plays)",
           "source": "data/tinyshakespeare/input.txt of GitHub karpathy/char-rnn",
           "license": "the text is public domain (the repository is MIT-licensed)",
           "readme": "Tiny Shakespeare"},),
    citation=("Andrej Karpathy (2015), char-rnn, https://github.com/karpathy/char-rnn",),
)
