"""Stock price forecasting: the `forecast-lstm` entry (S&P 500 daily closes, 2013-2018).

Importing this package registers the entry only; TensorFlow loads on first use.

>>> import zoo
>>> zoo.registry.get("forecast-lstm").task
'forecasting'
"""
from zoo.registry import register

register(
    name="forecast-lstm",
    task="forecasting",
    package="zoo_pipelines.forecasting",
    summary="LSTM encoder -> multi-horizon quantiles (0.1/0.25/0.5/0.75/0.9) of daily prices, "
            "one global scale-free model, blended per quantile with a pooled GARCH(1,1)-t filter",
    default_data="stocks",
    train_file="sp500_5yr_train.csv.gz",
    valid_file="sp500_5yr_train.csv.gz",
    recipe={"data": {"window": 64, "horizon": 10},
            "model": {"cell": "lstm", "units": 64, "layers": 1, "dropout": 0.1},
            "fit": {"batch_size": 256, "epochs": 30, "steps_per_epoch": 300, "patience": 5,
                    "learning_rate": 1e-3, "clipnorm": 1.0, "monitor_gradients": False}},
    paper={"pinball_ratio_vs_naive": {"target (issue 24, report split)": "<= 0.993"},
           "pinball_ratio_vs_garch": {"target (issue 24, report split)": "<= 0.998"},
           "mase_h1..h5": {"naive persistence (by definition ~1 at h1)": "<= 1.00"},
           "coverage_80": {"target (issue)": "0.77 - 0.83"}},
    tiny={"units": 16, "window": 16, "horizon": 5},
    bundle_dir="saved_models/forecast-lstm",
    benchmark="benchmarks.forecast_lstm",
    demo_inputs=(),
    limits="Research and education. Trained on daily closes of 362 S&P 500 stocks, Feb 2013 - "
           "Aug 2017, a rising market; a random walk is hard to beat on prices and this model "
           "barely does. Not investment advice. Inputs are scale-free (log returns), so other "
           "daily or business-daily series work, but fine-tune on your own data first.",
    out_of_scope="Trading or investment decisions; intraday, weekly or non-price series "
                 "without fine-tuning.",
    example='[{"dates": np.arange("2024-01-01", 300, dtype="datetime64[D]").astype(str).tolist(), '
            '"close": [100 + i % 7 for i in range(300)]}]',
    data=({"name": "S&P 500 daily prices, Feb 2013 - Feb 2018 (the rows of Kaggle's "
                   "all_stocks_5yr.csv, collected from the IEX API by Cam Nugent)",
           "source": "stock_data/individual_stocks_5yr/ of GitHub CNuge/kaggle-code",
           "license": "MIT (the source repository's licence)",
           "readme": "S&P 500 daily prices, Feb 2013 – Feb 2018"},),
    citation=("Tim Bollerslev (1986), \"Generalized Autoregressive Conditional "
              "Heteroskedasticity\", Journal of Econometrics 31 (the GARCH filter it blends)",),
)
