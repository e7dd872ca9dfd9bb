"""Abstractive summarization: the `summarize-attn` entry (BiLSTM encoder, LSTM decoder with
attention, pointer-generator copying and coverage; greedy or beam-search decoding on the numpy host),
trained on Debian package descriptions (long description -> one-line synopsis); the
shipped bundle is then fine-tuned on news beside them (see general.py and mix.py).

Importing this package registers the entry only; TensorFlow loads on first use.

>>> import zoo
>>> zoo.registry.get("summarize-attn").default_data
'summarization/debian_descriptions'
"""
from zoo.registry import register

register(
    name="summarize-attn",
    task="summarization",
    package="zoo_pipelines.summarization",
    summary="BiLSTM encoder + LSTM decoder with attention, pointer-generator copying and "
            "coverage over WordPiece subwords; greedy decoding (beam search optional): "
            "document -> short summary",
    default_data="summarization/debian_descriptions",
    train_file="train.jsonl.gz",
    valid_file="valid.jsonl.gz",
    recipe={"data": {"vocab_size": 8000, "max_source": 128, "max_target": 24},
            "model": {"embed": 128, "enc_units": 128, "dec_units": 256, "attn_units": 256,
                      "copy": True, "coverage": True, "dropout": 0.1},
            "fit": {"batch_size": 32, "epochs": 10, "patience": 3, "learning_rate": 1e-3,
                    "clipnorm": 2.0, "monitor_gradients": False,
                    # No XLA and no Grappler: Grappler breaks the decoder loop's gradient
                    # (zoo.training.graph_optimizer); XLA avoided that at 1.8x the step time.
                    "jit_compile": False, "grappler": False},
            # greedy summaries choose the epoch and are measured (beam 4 is 4x slower)
            "evaluate": {"beam": 1}},
    # As fractions, like our scores (the paper prints points: 36.38).
    paper={"rougeL (CNN/DailyMail test)": {"See et al. 2017 pointer-generator + coverage": 0.3638,
                                           "See et al. 2017 lead-3 baseline": 0.3657}},
    tiny={"vocab_size": 300, "max_source": 32, "max_target": 8, "embed": 8, "enc_units": 8,
          "dec_units": 16, "attn_units": 8},
    # The shipped bundle was trained with XLA (its hyper-parameters say so); fine-tuning
    # runs as the recipe trains now.
    fine_tune={"jit_compile": False, "grappler": False},
    bundle_dir="saved_models/summarize-attn",
    benchmark="benchmarks.summarize_attn",
    # Export parity floor for quantized (int8 dynamic-range) exports: a token flipped by the
    # quantized weights changes the rest of that summary (measured: 0.958 LCS F1 on 16 docs).
    quantized_agreement=0.9,
    # Largest raw-output difference a float export may show: the step's log-probabilities are
    # logs of the copy mixture (sums of tiny probabilities), so far-off tokens carry float32
    # rounding into log space (ONNX: 1.75e-3 at log p = -12.7, i.e. p = 3e-6; every other
    # output within 6e-6). Summaries must still be identical (agreement 1.0).
    parity_max_abs_diff=5e-3,
    limits="Research and demos. English only; writes lower-cased text. One model for software "
           "descriptions and news: fine-tuned on Debian package descriptions (-> a one-line "
           "synopsis), Inshorts news items (-> a headline; on Inshorts only about one point "
           "of ROUGE-L above the lead sentence) and BBC articles (-> their first key sentences, copied in "
           "order). Reads the first 128 subword tokens of a document (the rest is ignored, "
           "with a warning) and writes until it stops or reaches max_len subwords (the "
           "bundle's default, chosen on the selection split, is longer than the 24 it was "
           "trained on, so long articles get several sentences). Other domains need "
           "fine-tuning (m.fine_tune on your document/summary pairs).",
    out_of_scope="A summary trusted without reading the source (it can drop or change "
                 "details); languages other than English.",
    example='["GNU Emacs is an extensible text editor with a built-in Lisp interpreter."]',
    data=({"name": "Debian 12 package descriptions (description -> synopsis)",
           "source": "the Debian archive's Translation-en and Packages indexes, bookworm main",
           "license": "package metadata written by the maintainers, distributed freely with "
                      "the archive",
           "readme": "Debian package descriptions, description → synopsis"},
          {"name": "Inshorts news (text -> headline)",
           "source": "GitHub Programmer-RD/News-Classification-Predictions",
           "license": "none stated; Inshorts' news summaries, research use only",
           "readme": "Inshorts news, headline generation"},
          {"name": "BBC News Summary (article -> extractive summary)",
           "source": "GitHub Miguel-G-Soares/PRI_proj1 (the Kaggle set)",
           "license": "all rights in the articles belong to the BBC; research use only",
           "readme": "BBC News Summary"}),
    citation=("Abigail See, Peter J. Liu and Christopher D. Manning (2017), \"Get To The Point: "
              "Summarization with Pointer-Generator Networks\", ACL 2017",
              "Derek Greene and Pádraig Cunningham (2006), \"Practical Solutions to the "
              "Problem of Diagonal Dominance in Kernel Document Clustering\", ICML 2006 (BBC)"),
    demo_inputs=(
        "GNU Emacs is the extensible self-documenting text editor. This package contains "
        "the editor with support for a graphical user interface.",
        "This library provides functions to read and write image files in the PNG format. "
        "It supports all PNG color types and bit depths.",
    ),
)
