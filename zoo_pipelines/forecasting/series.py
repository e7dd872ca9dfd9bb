"""Series of prices for the forecaster, in numpy: checked series dicts, and series read
from a CSV file or a pandas DataFrame (pandas is imported on first use).

A series is a dict `{"name": str, "dates": [ISO dates], "close": [floats],
"volume": [floats] or None}`; `series_from_table` builds them from a CSV or DataFrame in
long form (date, Name/ticker, close[, volume, ...]) or wide form (date + one column per
series). Policy for holes: a missing close is carried forward from the day before
(leading missing closes are dropped) and a warning says how many; dates are kept as
given (the model counts observations, not calendar days); rows in any order (newest
first) are sorted by date; UTC offsets and zone names are read as each row's own local
date; a DataFrame's dates may be its index (yfinance.download's). Everything else is
refused, never guessed: a price that is text, infinite or <= 0, a date that does not parse, a
table with open/high/low/volume but no close column (it is not a wide table of series);
a CSV file's faults are DataFormatErrors naming the file and line, a DataFrame's or a
series dict's InputErrors naming the row or position.

>>> s = {"name": "X", "dates": ["2024-01-02", "2024-01-03"], "close": [10, 10.5]}
>>> check_series(0, s, min_len=2)["close"].tolist()
[10.0, 10.5]
>>> check_series(0, {**s, "close": [10, -1]}, min_len=2)
Traceback (most recent call last):
zoo.errors.InputError: input 0 (X): non-positive price -1.0 on 2024-01-03 (position 1); prices must be finite and > 0 (the model works on log returns)
"""
from __future__ import annotations

import os
import re
import warnings
from numbers import Number
from pathlib import Path

import numpy as np

from zoo.errors import DataFormatError, InputError, warn
from zoo.contract import shorten
from zoo.options import check_int, input_file

DATE_COLUMNS = ("date", "datetime", "timestamp", "time", "day")
NAME_COLUMNS = ("name", "ticker", "symbol", "series", "id")
CLOSE_COLUMNS = ("close", "adj close", "price")
# Columns of a price table that are never series of their own: a table that has them but
# no close column is a long-form (OHLCV) table missing its close, not a wide table of
# series. All-caps names alone (LOW, OPEN) may be tickers, so it takes two of those.
FIELD_COLUMNS = ("open", "high", "low", "volume", "vwap")
MISSING_TEXT = {"", "nan", "na", "n/a", "null", "none"}     # cells read as a missing value
# Series in one table (the S&P 500 is 505; every US-listed stock fits): each costs pandas
# milliseconds, and 2 MB of CSV held 200,000 columns (minutes before any price was checked).
MAX_SERIES = 10_000


def read_csv(src):
    """pandas.read_csv of a CSV path or text buffer, its first lines checked first: a
    header of 200,000 columns took pandas 30 s to parse, and a first row with more fields
    than the header became a MultiIndex of its leading fields (200,000 fields: 95 s, then a
    date read from the wrong column). A pandas ParserError says which."""
    import csv
    import gzip
    import io

    import pandas as pd

    if isinstance(src, io.StringIO):
        head = io.StringIO(src.getvalue()[:1 << 20])
    elif str(src).endswith(".gz"):
        head = gzip.open(src, "rt", encoding="utf-8", errors="replace", newline="")
    elif Path(src).suffix.lower() in (".zip", ".bz2", ".xz", ".zst", ".tar"):
        head = None             # another compression pandas reads: pandas alone
    else:
        head = open(src, encoding="utf-8", errors="replace", newline="")
    if head is not None:
        with head:
            rows = csv.reader(line[:1 << 20] for line, _ in zip(head, range(50)))
            header = next(rows, [])
            if len(header) > 10 * MAX_SERIES:        # pandas' own parse: seconds per 20,000
                raise pd.errors.ParserError(f"the header has at least {len(header):,} columns; "
                                            f"expected at most {MAX_SERIES:,} series")
            first = next((r for r in rows if r), [])
            # (one column and more fields: a file separated by ';', said further on)
            if len(first) > len(header) > 1 or len(first) > 10 * MAX_SERIES:
                raise pd.errors.ParserError(f"the first row has at least {len(first):,} fields, "
                                            f"the header {len(header)}; expected one value per "
                                            f"column (a stray comma?)")
    return pd.read_csv(src, skip_blank_lines=False)


def check_series(i, s: dict, min_len: int) -> dict:
    """Validated copy of one series dict (numpy arrays), or an InputError naming it:
    numbers for prices (None / NaN: missing, carried forward), finite and > 0; real dates,
    strictly increasing; volumes (optional) finite and >= 0, one per price."""
    if not isinstance(s, dict) or "close" not in s or "dates" not in s:
        raise InputError(f"input {i}: expected a CSV path, a DataFrame or a series dict with "
                         f"'dates' and 'close'; got {type(s).__name__}")
    name = str(s.get("name") or f"series {i}")
    what = f"input {i} ({name})"
    close = _numbers(s["close"], f"{what}: close")
    if close.size == 0:
        raise InputError(f"{what}: empty series; expected at least {min_len} prices")
    dates = _dates(s["dates"], what)
    if len(dates) != len(close):
        raise InputError(f"{what}: {len(dates)} dates but {len(close)} prices; expected one "
                         f"date per price")
    volume = s.get("volume")
    if volume is not None:
        volume = _numbers(volume, f"{what}: volume")
        if len(volume) != len(close):
            raise InputError(f"{what}: {len(volume)} volumes but {len(close)} prices; expected "
                             f"one volume per price, or no \"volume\"")
        bad = np.isinf(volume) | (volume < 0)
        if bad.any():
            k = int(np.argmax(bad))
            raise InputError(f"{what}: volume {volume[k]} on {dates[k]} (position {k}); "
                             f"volumes must be finite and >= 0")
    bad = np.isinf(close) | (close <= 0)
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"{what}: {'non-positive' if close[k] <= 0 else 'infinite'} price "
                         f"{close[k]} on {dates[k]} (position {k}); prices must be finite and "
                         f"> 0 (the model works on log returns)")
    close = _fill_forward(what, close)
    keep = ~np.isnan(close)
    close, dates = close[keep], dates[keep]
    if volume is not None:
        volume = np.nan_to_num(volume[keep], nan=0.0)
    if len(close) < min_len:
        missing = f" ({int((~keep).sum())} more missing)" if not keep.all() else ""
        raise InputError(f"{what}: {len(close)} prices of history{missing}; the model needs "
                         f"at least {min_len} (a window of {min_len - 1} daily returns)")
    if (np.diff(dates.astype(np.int64)) <= 0).any():
        k = int(np.argmax(np.diff(dates.astype(np.int64)) <= 0))
        raise InputError(f"{what}: dates must be strictly increasing; {dates[k + 1]} follows "
                         f"{dates[k]}")
    eval_from = s.get("eval_from")
    if eval_from is not None:                      # counted in the rows kept
        eval_from = check_int(eval_from, f"{what}: eval_from", 0, len(keep))   # NaN: a raw int()
        eval_from = int(keep[:eval_from].sum())
    return {"name": name, "dates": dates, "close": close, "volume": volume,
            "eval_from": eval_from}


def _numbers(values, what: str) -> np.ndarray:
    """A 1-D float64 array of `values` (None: NaN), or an InputError naming the first
    value that is not a number."""
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        raise InputError(f"{what} must be a list of numbers; got {type(values).__name__}")
    raw = np.asarray(values) if isinstance(values, np.ndarray) else np.asarray(
        list(values), dtype=object)
    if raw.ndim != 1:
        raise InputError(f"{what} must be a flat list of numbers; got shape {raw.shape}")
    if raw.dtype == bool or (raw.dtype == object and any(isinstance(v, (bool, np.bool_))
                                                          for v in raw)):
        raise InputError(f"{what} holds true/false values; expected numbers")
    if np.iscomplexobj(raw) or (raw.dtype == object and any(isinstance(v, complex) for v in raw)):
        # the cast dropped the imaginary part with only a warning
        raise InputError(f"{what} holds complex values; expected real numbers")
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError):    # OverflowError: 10**400
        for k, v in enumerate(raw):
            try:
                float(v if v is not None else "nan")
            except (TypeError, ValueError, OverflowError):
                raise InputError(f"{what}: value {v!r:.40} at position {k} is not a "
                                 f"number; expected numbers (null for a missing one)") from None
        raise InputError(f"{what} must be a list of numbers") from None


def _dates(values, what: str) -> np.ndarray:
    """A 1-D datetime64[D] array, or an InputError naming the first value that is not a date."""
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        raise InputError(f"{what}: dates must be a list of dates; got {type(values).__name__}")
    for k, v in enumerate(values):        # numpy read 17000 as 17,000 days after 1970
        if isinstance(v, (Number, np.number)):
            raise InputError(f"{what}: {v!r:.40} at position {k} is a number, not a date; "
                             f"expected dates like 2018-02-07")
    if getattr(values, "tz", None) is not None:        # a time-zone-aware DatetimeIndex
        values = values.tz_localize(None)
    elif any(isinstance(v, str) or getattr(v, "tzinfo", None) is not None for v in values):
        # each its own wall-clock date, as a table's are: numpy moved "2024-01-02T21:00-05:00"
        # to UTC, a day later (a Saturday after a Friday's close), with a UserWarning
        # (only a date with a time of day can have an offset: the regex on every date was
        # 43 % of predict() for 200 series)
        values = [re.sub(_TIME_OFFSET_RE, r"\1", v) if isinstance(v, str) and ":" in v else
                  v.replace(tzinfo=None) if getattr(v, "tzinfo", None) is not None else v
                  for v in values]
    try:
        dates = np.asarray(values, "datetime64[D]")
    except (TypeError, ValueError):
        for k, v in enumerate(values):
            try:
                np.datetime64(v, "D")
            except (TypeError, ValueError):
                raise InputError(f"{what}: {v!r:.40} at position {k} is not a date; expected "
                                 f"dates like 2018-02-07") from None
        raise InputError(f"{what}: dates must be a list of dates like 2018-02-07") from None
    if dates.ndim != 1:
        raise InputError(f"{what}: dates must be a flat list; got shape {dates.shape}")
    if np.isnat(dates).any():
        k = int(np.argmax(np.isnat(dates)))
        raise InputError(f"{what}: date at position {k} is missing; expected a date for every "
                         f"price")
    return dates


def _fill_forward(what: str, close: np.ndarray) -> np.ndarray:
    holes = np.isnan(close)
    if not holes.any():
        return close
    first = np.argmax(~holes) if (~holes).any() else len(close)
    inner = int(holes[first:].sum())
    if inner:
        # "input i (NAME)": the server hands a warning naming its input to that request
        warn(f"{what}: {inner} missing closes carried forward from the previous day")
    idx = np.where(holes, 0, np.arange(len(close)))
    np.maximum.accumulate(idx, out=idx)
    out = close[idx]
    out[:first] = np.nan
    return out


def listed(columns: list[str], shown: int = 12) -> str:
    """The first columns, for a message (a header of thousands made one of 39,000 characters).

    >>> listed(["date", "close"]), listed([f"c{i}" for i in range(100)], 3)
    ('date, close', 'c0, c1, c2, ... (100 columns)')
    """
    more = f", ... ({len(columns):,} columns)" if len(columns) > shown else ""
    # each name cut too: a header of one 100,000-character name was echoed whole
    return ", ".join(c if len(c) <= 60 else c[:57] + "..." for c in columns[:shown]) + more


def series_from_table(table, source: str = "input") -> list[dict]:
    """Series dicts from a CSV path or a pandas DataFrame (long or wide form). Every price
    is checked here, by line: a CSV file's problems are DataFormatErrors naming the file
    and line, a DataFrame's InputErrors naming the row (numbered as in a CSV: the header
    is row 1). Empty cells are missing values (see the module doc)."""
    import pandas as pd

    error = InputError
    # (a file whose name holds a newline is still a file)
    if isinstance(table, str) and "\n" in table.strip() and not os.path.isfile(table):
        # CSV text itself: it was named as a file, printed over many lines
        lines = len(table.strip().splitlines())
        raise InputError(f"{source}: CSV text ({lines} lines) given as a file name; expected "
                         f"a CSV file's path or a DataFrame (pandas.read_csv(io.StringIO(text)) "
                         f"reads text)")
    if isinstance(table, (str, Path)):
        # an empty name read as the folder ".", one too long for the system a raw OSError
        path = input_file(table, "file", "a CSV of prices")
        try:
            # Blank lines kept (as empty rows, dropped below) so row k is line k + 2.
            table = read_csv(path)
        except UnicodeDecodeError as e:      # pandas' says a position in a chunk it read
            raise DataFormatError(f"{path}:{_bad_line(path)}: not UTF-8 text ({e.reason}); "
                                  f"expected a UTF-8 CSV (latin-1 and others: save it as "
                                  f"UTF-8)") from None
        except pd.errors.EmptyDataError:
            raise DataFormatError(f"{path}: empty file; expected a CSV of prices with a header "
                                  f"line (date, close[, volume, Name])") from None
        except Exception as e:  # pandas raises several types for a bad file
            raise DataFormatError(f"{path}: not a readable CSV ({type(e).__name__}: "
                                  f"{shorten(e, 200)}); expected a CSV of prices with a header line "
                                  f"(date, close[, volume, Name])") from None     # pandas' ends in a newline
        source, error, line = str(path), DataFormatError, "line"
    elif type(table).__name__ == "DataFrame":
        line = "row"
    else:
        raise InputError(f"{source}: expected a CSV path or a pandas DataFrame; got "
                         f"{type(table).__name__}")
    if line == "row" and isinstance(table.columns, pd.MultiIndex) and table.columns.nlevels == 2:
        # yfinance.download of several tickers: columns (Close, AAPL), (Volume, AAPL), ...
        # read as long form (it was "no date column ... ('Close', 'AAPL')")
        fields = next((k for k in (0, 1) if {str(v).lower().strip() for v in
                                             table.columns.levels[k]} & set(CLOSE_COLUMNS)), None)
        if fields is not None:
            table = table.stack(level=1 - fields)
            table = table.rename_axis([table.index.names[0], "ticker"])
            table.columns = [str(c) for c in table.columns]
    names = {str(c).lower().strip() for c in table.columns}
    index = table.index.get_level_values(0) if line == "row" else None
    if line == "row" and not names & set(DATE_COLUMNS) and (
            isinstance(index, pd.DatetimeIndex) or not pd.api.types.is_numeric_dtype(index)
            and str(index.name).lower().strip() in DATE_COLUMNS):
        # the dates as the index (yfinance.download, read_csv(index_col=0, parse_dates=True),
        # df.set_index("date")): they were "no date column"
        table = table.rename_axis(["date", *table.index.names[1:]]).reset_index()
    df = table.copy()
    df.index = np.arange(len(df)) + 2               # the line (row) of each row
    df = df.dropna(how="all")                       # blank lines, trailing ",,," rows
    columns = [str(c) for c in df.columns]
    if not len(df):
        raise error(f"{source}: no rows of prices, only a header ({listed(columns)}); "
                    f"expected a date and a price on each line after it")
    cols = {str(c).lower().strip(): c for c in df.columns}
    sep = next((c for c in ";\t|" if c in columns[0]), None) if len(columns) == 1 else None
    if sep:                  # "no date column; got columns date;close" left the reason unsaid
        raise error(f"{source}: one column, {columns[0]!r:.60}, separated by {sep!r}; expected "
                    f"comma-separated values (date,close,...) with '.' as the decimal point")
    date_col = next((cols[c] for c in DATE_COLUMNS if c in cols), None)
    if date_col is None:
        # pandas' to_csv writes an unnamed index (the dates of a DatetimeIndex) as ",Close"
        unnamed = (f" (the first, {columns[0]!r}, is an index written without a name: "
                   f"name it date)" if columns[0] in ("", "Unnamed: 0") else "")
        raise error(f"{source}: no date column; expected one named one of {DATE_COLUMNS}, "
                    f"got columns {listed(columns)}{unnamed}")
    try:
        raw_dates = df[date_col]
        if pd.api.types.is_numeric_dtype(raw_dates):    # 20180207: never nanoseconds of 1970
            whole = raw_dates.where(raw_dates == np.floor(raw_dates))
            raw_dates = whole.map(lambda v: f"{v:.0f}" if v == v else None)
            parsed = pd.to_datetime(raw_dates, format="%Y%m%d", errors="coerce")
        else:
            parsed = _parse_dates(raw_dates, f"{source}: column {str(date_col)!r}", error)
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_localize(None)
    except (InputError, DataFormatError):       # _parse_dates': ambiguous day and month
        raise
    except (TypeError, ValueError, AttributeError):     # mixed time zones: not datetimes
        raise error(f"{source}: the dates in column {str(date_col)!r} mix time zones; "
                    f"expected dates like 2018-02-07") from None
    bad = parsed.isna()
    if bad.any():
        row = df.index[int(np.argmax(bad.to_numpy()))]
        value = df[date_col].loc[row]
        what = f"cannot parse date {str(value)!r}" if _present(value) else "no date"
        raise error(f"{source}: {what} in {line} {row} (column {str(date_col)!r}); expected "
                    f"dates like 2018-02-07{_number_hint(value)}")
    days = parsed.dt.normalize()
    if (days != parsed).any() and days.duplicated().any():
        # intraday rows all became one date, then "dates must be strictly increasing"
        row = df.index[int(np.argmax(days.duplicated().to_numpy()))]
        raise error(f"{source}: several rows on {days.loc[row]:%Y-%m-%d} ({line} {row}: "
                    f"{str(df[date_col].loc[row])!r:.40}): intraday prices; expected one close "
                    f"a day (the model forecasts daily closes)")
    df[date_col] = parsed
    name_col = next((cols[c] for c in NAME_COLUMNS if c in cols), None)
    close_col = next((cols[c] for c in CLOSE_COLUMNS if c in cols), None)
    fields = [c for c in columns if c.lower().strip() in FIELD_COLUMNS]
    if close_col is None and (name_col is not None or len(fields) > 1
                              or any(not c.strip().isupper() for c in fields)):
        raise error(f"{source}: no close column (columns: {listed(columns)}); expected "
                    f"'close' (or 'adj close', 'price'): long form is date, Name, close[, "
                    f"volume, ...]; wide form is date and one price column per series, "
                    f"without {'/'.join(FIELD_COLUMNS)}")

    def numbers(part, col, name, kind):
        raw = part[col]
        flags = [row for row, v in raw.items() if isinstance(v, (bool, np.bool_))]
        if flags:       # pd.to_numeric read True as a price of 1.0, as fine
            raise error(f"{source}: {kind} {str(raw.loc[flags[0]])} in {line} {flags[0]} (column "
                        f"{str(col)!r}) is true/false, not a number")
        values = pd.to_numeric(raw, errors="coerce")
        text = [row for row, v in raw[values.isna()].items() if _present(v)]
        if text:
            value = str(raw.loc[text[0]])
            # "1,234.50", "1234,50", "$10.50": a spreadsheet's formatting, never guessed
            # ("1,234" is a thousand or one point two in Europe)
            hint = ("; expected a plain number like 1234.5 (no thousands separators, decimal "
                    "commas, currency signs or %)" if set(value) & set(",$€£¥%") else "")
            raise error(f"{source}: {kind} {value!r:.40} in {line} {text[0]} "
                        f"(column {str(col)!r}) is not a number{hint}")
        values = values.to_numpy(np.float64)
        low = (values <= 0) if kind == "price" else (values < 0)
        bad = np.isinf(values) | low
        if bad.any():
            k = int(np.argmax(bad))
            sign = "infinite" if np.isinf(values[k]) else ("non-positive" if kind == "price"
                                                           else "negative")
            raise error(f"{source}: {sign} {kind} {values[k]} in {line} {part.index[k]} (column "
                        f"{str(col)!r}{f', series {name}' if name else ''}); {kind}s must be finite and "
                        f"{'> 0 (the model works on log returns)' if kind == 'price' else '>= 0'}")
        return values

    def one(name, part, price_col, volume_col=None):
        part = part.sort_values(date_col, kind="stable")
        repeated = part.index[part[date_col].duplicated(keep="last")]
        if len(repeated):     # said, as a hole is: a file pasted twice lost half its rows unsaid
            # (a table's one series is named after it: "input 0: series input 0" said it twice)
            series = f" series {name}:" if name and name != Path(source).stem else ""
            warn(f"{source}:{series} {len(repeated)} rows share their date "
                 f"with a later row ({line} {min(repeated)} first); the last row of "
                 f"each date is kept")
        part = part.drop_duplicates(date_col, keep="last")
        prices = numbers(part, price_col, name, "price")
        vol = numbers(part, volume_col, name, "volume") if volume_col is not None else None
        return {"name": str(name), "dates": part[date_col].dt.strftime("%Y-%m-%d").tolist(),
                "close": prices.tolist(), "volume": None if vol is None else vol.tolist()}

    volume_col = cols.get("volume")
    count = (df[name_col].nunique() if close_col is not None and name_col is not None
             else 1 if close_col is not None else len(df.columns) - 1)
    if count > MAX_SERIES:
        raise error(f"{source}: {count:,} series in one table; expected at most "
                    f"{MAX_SERIES:,} (split the table)")
    if close_col is not None and name_col is not None:           # long form
        if df[name_col].isna().any():
            row = df.index[int(np.argmax(df[name_col].isna().to_numpy()))]
            raise error(f"{source}: no series name in {line} {row} (column {str(name_col)!r})")
        return [one(n, g, close_col, volume_col) for n, g in df.groupby(name_col, sort=True)]
    if close_col is not None:
        # one series: a file's is named after it; a DataFrame's is unnamed ("", check_series
        # names it "series {i}" as it does a dict: it was "input", the default `source`)
        return [one(Path(source).stem if line == "line" else "", df, close_col, volume_col)]
    value_cols = [c for c in df.columns if c != date_col]
    if not value_cols:
        raise error(f"{source}: no 'close' column and no series columns; expected "
                    f"long form (date, Name, close, ...) or wide form (date, one column "
                    f"per series)")
    return [one(c, df[[date_col, c]], c) for c in value_cols]


# Numeric dates day/month/year or month/day/year ("03/04/2024", "31.01.24", "1/31/2024 16:00")
_DMY_RE = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?=$|[\sT])(.*)$"
# A trailing UTC offset: a US stock's dates written from a time-zone-aware index (yfinance's
# to_csv) change from -05:00 to -04:00 with daylight saving time
_OFFSET_RE = r"(?:Z|[+-]\d{2}:?\d{2})\s*$"
# ... or zone name (UTC, EST), after a time of day (never the "-2024" of 01-02-2024);
# \1 keeps the time
_TIME_OFFSET_RE = (r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*"
                   r"(?:Z|(?!AM\b|PM\b)[A-Z]{2,5}|[+-]\d{2}(?::?\d{2})?)\s*$")
# A year and quarter (2024Q1, 2024-Q1): pandas read it with a deprecation warning
_QUARTER_RE = r"^\s*(\d{4})-?Q([1-4])\s*$"


def _parse_dates(raw, what: str, error):
    """Dates of a table column as datetimes (NaT where a cell is no date). Numeric dates with
    the day and month apart ("03/04/2024") are read day-first or month-first by the column's
    own values (a day above 12); pandas read 03/04/2024 as March 4th without a word, and
    "31/01/24" then "01/02/24" one each way. Where no value tells, it is an error: a date
    is never guessed. Mixed UTC offsets keep each row's own wall-clock date.

    >>> import pandas as pd
    >>> _parse_dates(pd.Series(["30/01/2024", "01/02/2024"]), "x", ValueError).dt.day.tolist()
    [30, 1]
    """
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(raw):      # a DataFrame's own datetimes
        return raw
    text = raw.astype("string").str.strip()
    parts = text.str.extract(_DMY_RE)
    given = text.notna() & (text != "")
    if given.any() and parts[0][given].notna().all():
        first, second = (parts[k][given].astype(int) for k in (0, 1))
        day_first, month_first = (first > 12).any(), (second > 12).any()
        if day_first == month_first:
            example = text[given].iloc[0]
            why = ("mixes day-first (31/01) and month-first (01/31) dates" if day_first else
                   f"has dates like {example!r} that read as day/month or as month/day, and "
                   f"no day above 12 says which")
            raise error(f"{what}: {why}; write the dates as year-month-day (2024-04-03)")
        if day_first and (parts[2][given].str.len() == 2).all() and given.sum() > 1:
            # "23-01-02" read day-first is 23 January 2002: a yy-mm-dd column became one
            # day a year, its rows shuffled by the sort, unsaid. Refused where the rows are
            # in order (or reversed) as yy-mm-dd and out of order as dd-mm-yy.
            def ordered(y, m, d):
                t = pd.to_datetime("20" + y[given] + "-" + m[given] + "-" + d[given],
                                   format="%Y-%m-%d", errors="coerce")
                return t.notna().all() and (t.is_monotonic_increasing or t.is_monotonic_decreasing)

            if ordered(parts[0], parts[1], parts[2]) and not ordered(parts[2], parts[1], parts[0]):
                raise error(f"{what}: has dates like {text[given].iloc[0]!r} that read as "
                            f"day-month-year or as year-month-day (two-digit years); write "
                            f"the dates as year-month-day with four digits (2024-04-03)")
        day, month = (parts[0], parts[1]) if day_first else (parts[1], parts[0])
        year = parts[2].where(parts[2].str.len() == 4,
                              parts[2].map(lambda y: f"{20 if int(y) < 69 else 19}{y}"
                                           if isinstance(y, str) else y))
        text = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + parts[3]
    # Each row's own wall-clock date, its offset dropped: rows with and without one ("2024-
    # 01-03T16:00:00-05:00" after "2024-01-02") were NaT, "cannot parse date", for pandas
    # (each pass only where a cell can need it: a regex over every row of a 2M-row file)
    if text.str.contains(":", regex=False).any():
        text = text.str.replace(_TIME_OFFSET_RE, r"\1", regex=True)
    if text.str.contains("Q", regex=False).any():
        quarter = text.str.extract(_QUARTER_RE)           # its first day
        first = quarter[1].map({"1": "-01-01", "2": "-04-01", "3": "-07-01", "4": "-10-01"})
        text = text.where(quarter[0].isna(), quarter[0] + first)
    with warnings.catch_warnings():     # "Could not infer format": a cell that is no date is
        warnings.simplefilter("ignore", UserWarning)         # said below, by its line
        try:
            parsed = pd.to_datetime(text, errors="coerce")
        except ValueError:          # mixed UTC offsets: each row's local date
            return pd.to_datetime(text.str.replace(_OFFSET_RE, "", regex=True), errors="coerce")
        if parsed.isna().any():     # pandas' format is the first row's: ISO with and without times
            parsed = parsed.fillna(pd.to_datetime(text, format="ISO8601", errors="coerce"))
        return parsed


def _number_hint(value) -> str:
    """What a number that is no date may be, for the message (never read as one: 45000 is
    an Excel date or 45,000 seconds after 1970)."""
    try:
        v = abs(float(value))
    except (TypeError, ValueError):
        return ""
    kind = ("Unix time in seconds" if 1e8 <= v < 1e11 else "Unix time in milliseconds"
            if 1e11 <= v < 1e14 else "an Excel serial date" if 1e4 <= v < 1e5 else None)
    return f" (a number: {kind}? write it as a date)" if kind else ""


def _bad_line(path: Path) -> int | str:
    """The line of the first byte of `path` (plain or .gz) that is not UTF-8, or "?"."""
    import gzip

    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return raw[:e.start].count(b"\n") + 1
    except Exception:      # another compression pandas read: no line to give
        pass
    return "?"


def _present(value) -> bool:
    """Whether a table cell holds something (not empty, not a spelling of missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    try:
        import pandas as pd
        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return str(value).strip().lower() not in MISSING_TEXT
