"""Image captioning: the `caption-cnn-lstm` entry (Show, Attend and Tell: a compact CNN
trained from scratch + an LSTM decoder with soft attention), trained on the emoji artwork
corpus (../shared/data/captioning/emoji: designer-drawn emoji captioned with their CLDR
names).

Importing this package registers the entry only; TensorFlow loads on first use.

>>> ENTRY.default_data
'captioning/emoji'
"""
from zoo.registry import Entry, register

ENTRY = Entry(
    name="caption-cnn-lstm",
    task="captioning",
    package="zoo_pipelines.captioning",
    summary="Show, Attend and Tell: a compact CNN (trained from scratch) and an LSTM decoder "
            "with soft attention; beam search on the host; attention maps per word",
    default_data="captioning/emoji",
    train_file="captions.tsv",          # one file, both splits (data.read_split)
    valid_file="captions.tsv",
    recipe={"data": {"image_size": 64, "min_count": 2, "keyword_min_count": 4,
                     # colour jitter (make_dataset) blurs neighbouring skin tones: off
                     # (docs/models/caption-cnn-lstm.md)
                     "color_jitter": 0.0,
                     # image folders (art styles) to train on, e.g. "google"; None: all
                     "styles": None,
                     # share of training images with thicker/thinner strokes or blurred
                     "stroke_blur": 0.0,
                     # share of training images redrawn in flat colours (a k-means palette)
                     "flat_style": 0.0,
                     # share of training images drawn with dark outlines (data.outlined)
                     "outline_style": 0.0},
            "model": {"grid": 8, "widths": [64, 128, 256], "cell": "lstm", "units": 256,
                      "embed_dim": 128, "attention_dim": 128, "dropout": 0.3,
                      "attention_reg": 1.0,
                      # that share of each target word spread over the vocabulary
                      # (0.1: predict() valid BLEU-4 0.5938 against 0.5723 without;
                      # docs/models/caption-cnn-lstm.md)
                      "label_smoothing": 0.1,
                      # > 0: the CLDR keywords as an auxiliary multi-label target
                      "keyword_weight": 0.0,
                      # share of training batches with early feature statistics mixed
                      # between images (model.MixStyle, a style augmentation); False:
                      # none after the stem, whose channel means carry the colours
                      "mixstyle": 0.0, "mixstyle_stem": True},
            "fit": {"batch_size": 32, "epochs": 30, "patience": 6, "learning_rate": 2e-3,
                    "lr_decay": 0.92, "clipnorm": 5.0, "monitor_gradients": False,
                    # XLA makes this model's training step ~9x slower on CPU (depthwise
                    # convolutions)
                    "jit_compile": False}},
    paper={"bleu4 (Flickr8k test; photographs, other data)": {"Xu et al. 2015 soft attention": 0.195},
           "bleu4 (COCO test; photographs, other data)": {"Xu et al. 2015 soft attention": 0.2430},
           "bleu4 (emoji valid)": {"target (issue)": "nn_bleu4 + 0.05 or more"}},
    tiny={"image_size": 16, "grid": 4, "widths": [8, 16], "units": 16, "embed_dim": 8,
          "attention_dim": 8},
    bundle_dir="saved_models/caption-cnn-lstm",
    benchmark="benchmarks.caption_cnn_lstm",
    # Export parity floor for int8 (dynamic-range) TFLite: one word flipped by the quantized
    # weights changes the rest of that caption, and agreement counts word positions.
    quantized_agreement=0.9,
    limits="Trained only on emoji artwork (Noto and Twemoji styles) with their Unicode CLDR "
           "names as captions: it names pictograms, not photographs. Captioning photographs "
           "needs `zoo train caption-cnn-lstm --data <Flickr8k or COCO folder>` (or "
           "`m.fine_tune(...)` on your images, which grows the vocabulary). The encoder is "
           "trained from scratch (no ImageNet weights) on 64x64 inputs. Valid and report emoji "
           "are emoji never seen in training (split by base emoji, skin tones folded; the report "
           "split also leaves out images drawn like a training one, e.g. \"woman superhero\" "
           "beside a trained \"superhero\", which valid keeps): on report the model's own "
           "(greedy) BLEU-4 is level with the nearest-neighbour baseline's, and `predict()`'s "
           "retrieval rerank (`retrieval_*`: its caption against the names of the nearest "
           "training images and their recombinations, setting chosen on valid) is under 2 "
           "points above it, far from the issue's +5; trained on one art style it names "
           "the other style's images poorly (the card's study tables); the held-out test "
           "emoji and the third art style are not in this checkout. BLEU: NLTK 3.10.4 `corpus_bleu`, `SmoothingFunction().method1`, "
           "tokens from host.tokenize (lower-cased, punctuation as tokens), against all "
           "references of each image; `nn_*`: the nearest-neighbour baseline (caption of the "
           "training image with the closest mean encoder feature), computed in the same run. "
           "`by_folder`: the same per art style (images/google, images/twitter). Decoding: "
           "the headline is greedy (no decoding setting tuned; the best epoch is picked on this "
           "split, as in every zoo recipe); `predict()` defaults to beam 3 with "
           "length normalisation alpha 0.3 (`beam3_*`), which measured best of alpha 0 / "
           "0.3 / 0.6 / 1 on this same valid split, so its score here is optimistic, and "
           "then reranks against the bundle's retrieval memory (`retrieval_*`, the setting "
           "chosen on valid; `retrieve=0` turns it off). "
           "Training uses no colour jitter (`color_jitter: 0`): with it, neighbouring skin "
           "tones were confused and BLEU-4 was 0.5127 against 0.5790 without.",
    demo_inputs=(),
    out_of_scope="Photographs; describing people or scenes for anyone who relies on the "
                 "description (it names emoji artwork only).",
    example="[np.where((((np.indices((64, 64)) - 32) ** 2).sum(0) < 700)[..., None], "
            "np.uint8([255, 204, 0]), np.uint8(255))]  # a drawn yellow disc; or image paths",
    data=({"name": "Noto Emoji and Twemoji images (64x64) with their Unicode CLDR English names",
           "source": "npm emoji-datasource-google and emoji-datasource-twitter 16.0.0, "
                     "cldr-annotations-full 48.2.0",
           "license": "Noto Emoji images Apache-2.0; Twemoji graphics CC BY 4.0; "
                      "emoji-datasource MIT; CLDR data Unicode License v3",
           "readme": "Emoji artwork with Unicode CLDR names"},),
    citation=("Kelvin Xu, Jimmy Ba, Ryan Kiros, Kyunghyun Cho, Aaron Courville, Ruslan "
              "Salakhutdinov, Richard Zemel and Yoshua Bengio (2015), \"Show, Attend and Tell: "
              "Neural Image Caption Generation with Visual Attention\", ICML 2015",),
)
register(ENTRY)
