"""Valid price series whose time axis is unusual (helper BJ, stop 72): UTC offsets and zone
names, dates as the DataFrame's index, numbers in the date column, two-digit years, and
weekly or monthly histories. Each was read wrongly, refused for the wrong reason, or
forecast without a word. No model is loaded."""
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from zoo.errors import InputError, ZooWarning
from zoo_pipelines.forecasting import host as H
from zoo_pipelines.forecasting.series import check_series, read_csv, series_from_table

DAYS = pd.bdate_range("2024-01-02", periods=80)
CLOSE = np.linspace(10, 12, len(DAYS))
CONFIG = {"window": 64, "horizon": 10, "quantiles": [0.1, 0.25, 0.5, 0.75, 0.9]}


def table(dates, header="date,close"):
    text = header + "\n" + "".join(f"{d},{c}\n" for d, c in zip(dates, CLOSE))
    return series_from_table(read_csv(io.StringIO(text)), "prices")


def dates_of(series):
    return [str(d) for d in series[0]["dates"]]


def test_offsets_and_zone_names_are_each_rows_local_date_in_tables_and_dicts():
    plain = [f"{d:%Y-%m-%d}" for d in DAYS]
    # rows with and without an offset: the ones with it were 'cannot parse date'
    mixed = [d + ("T16:00:00-05:00" if k % 2 else "") for k, d in enumerate(plain)]
    assert dates_of(table(mixed)) == plain
    assert dates_of(table([d + " 16:00 EST" for d in plain])) == plain
    # a series dict: numpy moved 21:00-05:00 to the next day (UTC), unlike the table
    late = (DAYS + pd.Timedelta("21h")).tz_localize("America/New_York")
    for dates in ([t.isoformat() for t in late], list(late), late):
        with warnings.catch_warnings():
            warnings.simplefilter("error")        # and numpy's time-zone UserWarning is gone
            s = check_series(0, {"dates": dates, "close": CLOSE}, 2)
        assert [str(d) for d in s["dates"]] == plain


def test_quarters_are_their_first_day():
    quarters = [f"{2000 + k // 4}Q{k % 4 + 1}" for k in range(len(CLOSE))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # pandas' deprecation of "2024Q1" unseen
        got = dates_of(table(quarters))
    assert got[:3] == ["2000-01-01", "2000-04-01", "2000-07-01"]


@pytest.mark.parametrize("value, kind", [(1704153600, "Unix time in seconds"),
                                         (1704153600000, "Unix time in milliseconds"),
                                         (45293, "an Excel serial date")])
def test_numbers_in_the_date_column_are_named(value, kind):
    with pytest.raises(InputError, match=f"cannot parse date '{value}' in row 2 .*{kind}"):
        table([value + k for k in range(len(CLOSE))])


def test_two_digit_years_that_read_either_way_are_refused():
    yy_mm_dd = [f"{d:%y-%m-%d}" for d in DAYS]       # was 24 January 2001, 2002, ... sorted
    with pytest.raises(InputError, match="day-month-year or as year-month-day"):
        table(yy_mm_dd)
    assert dates_of(table([f"{d:%d-%m-%y}" for d in DAYS]))[:2] == ["2024-01-02", "2024-01-03"]


def test_dates_as_the_index_are_the_date_column():
    aware = pd.DatetimeIndex((DAYS + pd.Timedelta("16h")).tz_localize("America/New_York"),
                             name="Date")
    s = series_from_table(pd.DataFrame({"Close": CLOSE}, index=aware))
    assert dates_of(s)[:2] == ["2024-01-02", "2024-01-03"]
    # yfinance.download of several tickers: (Close, AAPL), (Volume, MSFT) ...
    cols = pd.MultiIndex.from_product([["Close", "Volume"], ["AAPL", "MSFT"]],
                                      names=["Price", "Ticker"])
    wide = pd.DataFrame(np.tile(CLOSE[:, None], 4), index=DAYS.rename("Date"), columns=cols)
    assert [x["name"] for x in series_from_table(wide)] == ["AAPL", "MSFT"]
    # a numbered index is no date, whatever its name
    with pytest.raises(InputError, match="no date column"):
        series_from_table(pd.DataFrame({"Close": CLOSE}, index=pd.RangeIndex(80, name="day")))
    # to_csv of an unnamed index: said what the first column is
    with pytest.raises(InputError, match="'Unnamed: 0', is an index written without a name"):
        table([f"{d:%Y-%m-%d}" for d in DAYS], header=",Close")


def test_weekly_and_monthly_histories_are_warned_of_and_dated_at_their_step():
    weekly = pd.date_range("2022-01-03", periods=80, freq="W-MON")
    s = {"name": "W", "dates": [f"{d:%Y-%m-%d}" for d in weekly], "close": CLOSE}
    with pytest.warns(ZooWarning, match=r"input 0 \(W\): the dates are weekly .* next 3 rows"):
        H.Host(CONFIG).encode([s], horizon=3)
    d = lambda idx: np.asarray(idx, "datetime64[D]")   # noqa: E731
    assert str(H.next_dates(d(weekly), 2)[1]) == str((weekly[-1] + pd.Timedelta("14D")).date())
    assert [str(x) for x in H.next_dates(d(pd.date_range("2020-01-31", periods=30, freq="ME")), 2)] \
        == ["2022-07-31", "2022-08-31"]
    # the first trading day of each month: 2026-08-01 is a Saturday, so Monday the 3rd
    assert [str(x) for x in H.next_dates(d(pd.bdate_range("2024-01-01", periods=30, freq="BMS")), 2)] \
        == ["2026-07-01", "2026-08-03"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # daily closes: no word, as before
        H.Host(CONFIG).encode([{"name": "D", "dates": [f"{x:%Y-%m-%d}" for x in DAYS],
                                "close": CLOSE}], horizon=1)
    assert str(H.next_dates(d(DAYS), 1)[0]) == "2024-04-23"


def test_dates_outside_pandas_nanosecond_range_are_read():
    for start in ("1960-01-04", "2300-01-02"):
        days = pd.bdate_range(start, periods=80).strftime("%Y-%m-%d")
        assert dates_of(table(days))[-1] == days[-1]


def test_forecast_dates_are_written_as_dates():
    """--json, the server and batch-predict wrote a forecast's days as "2013-06-05T00:00:00"."""
    import datetime

    import pandas as pd

    from zoo.cli import to_json

    assert to_json([{"date": pd.Timestamp("2013-06-05")}]) == [{"date": "2013-06-05"}]
    assert to_json([pd.Timestamp("2013-06-05 16:00")]) == ["2013-06-05T16:00:00"]
    assert to_json([datetime.datetime(2013, 6, 5)]) == ["2013-06-05T00:00:00"]
