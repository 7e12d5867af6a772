"""Messy CSV and Parquet reading for reconciliation: sniff, load into DuckDB, infer what each column holds.

Files exported from legacy systems come with report titles above the header, semicolons, a byte-order
mark or Windows-1252 bytes, amounts such as ``$1,234.50``, ``(12.00)`` or ``1.234,50 €`` and dates in
local formats. `load_side` reads one file into a DuckDB table of text columns (Parquet keeps its types);
`profile_columns` decides, column by column, whether it holds amounts, numbers, dates or text, from its
name and a sample of its content; `cast_expression` is the SQL that parses a column accordingly. Every
decision is returned as an `Assumption`, so the summary can say what was assumed.

Nothing here loads records into pandas: sniffing reads the first lines in Python, everything else is
DuckDB SQL over the whole file.
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict

from data.errors import UserError
from data.sources import quote, sql_literal

Kind = Literal["amount", "number", "date", "text"]
DELIMITERS = (",", ";", "\t", "|")
NULL_TOKENS = ("", "NULL", "null", "N/A", "n/a", "NA", "None")
SNIFF_BYTES = 1 << 20
SNIFF_LINES = 200
SAMPLE_ROWS = 5_000
PARSE_SHARE = 0.98  # a column is amounts/numbers/dates when this share of its sampled values parse
AMOUNT_NAME = re.compile(r"(amount|amt|balance|total|price|charge|fee|cost|paid|due|debit|credit|deposit|value)",
                         re.IGNORECASE)
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
                "%Y/%m/%d", "%d-%m-%Y", "%d-%b-%Y", "%d %b %Y", "%b %d, %Y")
# Currency marks and codes are stripped before a value is read as an amount.
CURRENCY = r"[$€£¥]|\b(USD|EUR|GBP|CHF|JPY)\b"
US_AMOUNT = r"^\(?-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?-?\)?$"
EU_AMOUNT = r"^\(?-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?-?\)?$"
DATE_SHAPE = r"^\s*(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}[ -][A-Za-z]{3}[ -]\d{4}|[A-Za-z]{3} \d{1,2}, \d{4})"


class Assumption(BaseModel):
    """One thing the reader decided on its own: which file, which column, what it assumed."""

    model_config = ConfigDict(frozen=True)

    file: str
    column: str | None = None
    text: str


class ColumnProfile(BaseModel):
    """What one column holds and how it is parsed (``decimal_comma`` for amounts such as ``1.234,50``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Kind
    decimal_comma: bool = False
    date_formats: tuple[str, ...] = ()


class SideFile(BaseModel):
    """How one input file was read: format, encoding, delimiter, header line, rows and columns in file order."""

    model_config = ConfigDict(frozen=True)

    side: Literal["legacy", "migrated"]
    path: str
    format: Literal["csv", "parquet"]
    encoding: str | None = None
    delimiter: str | None = None
    header_line: int | None = None  # 1-based line number of the header in the file
    rows: int
    columns: tuple[str, ...]


def canonical_name(name: str) -> str:
    """A column name without case and punctuation: ``Account ID``, ``account_id``, ``AccountId`` → ``accountid``."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


# --------------------------------------------------------------------------- sniffing


def _check_file(path: Path) -> bytes:
    try:
        if not path.exists():
            raise UserError(f"{path}: no such file")
        if not path.is_file():
            raise UserError(f"{path}: not a file")
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as err:  # a name too long, a folder without permission, ...
        raise UserError(f"{path}: cannot read the file ({err.strerror or err})") from None
    if not head.strip():
        raise UserError(f"{path}: the file is empty")
    return head


def _is_parquet(path: Path, head: bytes) -> bool:
    return head[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq", ".parq")


def _detect_encoding(path: Path, head: bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` when every byte of the file decodes, else ``cp1252`` (or ``latin-1``)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" in head:
        raise UserError(f"{path}: a binary file, not CSV or Parquet")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(64 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _looks_numeric(text: str) -> bool:
    stripped = re.sub(CURRENCY, "", text).strip().replace(",", "").replace(" ", "")
    return bool(re.fullmatch(r"\(?-?\d+(\.\d+)?\)?", stripped)) or bool(re.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", text.strip()))


def _sniff_layout(path: Path, text: str) -> tuple[str, int, list[str]]:
    """(delimiter, 0-based header line, header fields) of CSV text.

    The delimiter is the candidate under which most sampled lines share one field count (>1); the header
    is the first line with that count, followed by a line with that count, whose fields are all present,
    unique and not numbers or dates. Lines above it are junk (report titles, export dates) and skipped;
    a ragged row further down is DuckDB's error to report.
    """
    lines = text.splitlines()[:SNIFF_LINES]
    best: tuple[int, str, list[list[str]]] | None = None
    for delim in DELIMITERS:
        rows = [next(csv.reader([ln], delimiter=delim), []) for ln in lines]
        counts = [len(r) for r in rows if any(f.strip() for f in r)]
        if not counts:
            continue
        modal = max(set(counts), key=lambda c: (counts.count(c), c))
        if modal < 2:
            continue
        score = counts.count(modal)
        if best is None or score > best[0]:
            best = (score, delim, rows)
    if best is None:
        raise UserError(f"{path}: no delimited columns found (tried , ; tab |): not a CSV table")
    _, delim, rows = best
    counts = [len(r) for r in rows]
    tail = [c for r, c in zip(rows, counts) if any(f.strip() for f in r)]
    modal = max(set(tail), key=lambda c: (tail.count(c), c))
    for i, row in enumerate(rows):
        if len(row) != modal:
            continue
        fields = [f.strip() for f in row]
        following = next((c for r, c in zip(rows[i + 1:], counts[i + 1:]) if any(f.strip() for f in r)), modal)
        if all(fields) and len(set(fields)) == len(fields) and not any(_looks_numeric(f) for f in fields) \
                and following == modal:
            return delim, i, fields
        if following == modal and any(_looks_numeric(f) for f in fields):
            break  # the table has started with a data row: there is no header
    first = ", ".join(f.strip() for f in rows[0]) if rows else ""
    raise UserError(f"{path}: no header row found (the first table line looks like data: {first[:80]!r})")


def _transcode(path: Path, encoding: str, scratch: Path) -> Path:
    """Stream a non-UTF-8 file into a UTF-8 copy in ``scratch`` (DuckDB reads UTF-8)."""
    target = scratch / f"{path.stem}.utf8.csv"
    with path.open("r", encoding=encoding, newline="") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(16 << 20):
            dst.write(chunk)
    return target


def _first_line(err: Exception) -> str:
    """DuckDB's message on one line: what failed, the line and the expected shape (its first three lines)."""
    lines = [ln.strip() for ln in str(err).replace("Invalid Input Error: ", "").splitlines() if ln.strip()]
    return "; ".join(lines[:3]) if lines else type(err).__name__


def header_columns(path: Path) -> tuple[Literal["csv", "parquet"], tuple[str, ...]]:
    """The format and column names of a CSV or Parquet file, read from its first bytes (CSV: the sniffed header under
    any junk lines) or its footer (Parquet): what a caller checks names against before a full read.

    Raises the same one-line errors as `load_side` for a missing, empty, binary or headerless file.
    """
    path = Path(path)
    head = _check_file(path)
    if _is_parquet(path, head):
        con = duckdb.connect()
        try:
            return "parquet", tuple(r[0] for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({sql_literal(str(path))})").fetchall())
        except duckdb.Error as err:
            raise UserError(f"{path}: cannot read as Parquet: {_first_line(err)}") from None
        finally:
            con.close()
    if b"\x00" in head:
        raise UserError(f"{path}: a binary file, not CSV or Parquet")
    if head.startswith(codecs.BOM_UTF8):
        text = head.decode("utf-8-sig", errors="replace")
    else:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as err:  # a cut multi-byte character at the end, or another encoding
            text = head[:err.start].decode("utf-8") if err.start > len(head) - 4 else head.decode("cp1252", "replace")
    if len(head) == SNIFF_BYTES:
        text = text[: text.rfind("\n") + 1]
    return "csv", tuple(_sniff_layout(path, text)[2])


def load_side(con: duckdb.DuckDBPyConnection, path: Path, side: Literal["legacy", "migrated"], table: str,
              scratch: Path) -> tuple[SideFile, list[Assumption]]:
    """Expose one file as the DuckDB relation ``table``: CSV read into a table of text columns (parsed later),
    Parquet as a view with its own types."""
    path = Path(path)
    head = _check_file(path)
    notes: list[Assumption] = []
    if _is_parquet(path, head):
        try:
            # a view: Parquet is typed and columnar, so the clean side table reads it directly
            con.execute(f"CREATE OR REPLACE VIEW {quote(table)} AS SELECT * FROM read_parquet({sql_literal(str(path))})")
        except duckdb.Error as err:
            raise UserError(f"{path}: cannot read as Parquet: {_first_line(err)}") from None
        columns = tuple(r[0] for r in con.execute(f"DESCRIBE {quote(table)}").fetchall())
        rows = con.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0]
        if rows == 0:
            raise UserError(f"{path}: the file holds no records")
        return SideFile(side=side, path=str(path), format="parquet", rows=rows, columns=columns), notes
    encoding = _detect_encoding(path, head)
    text = head.decode("utf-8-sig" if encoding.startswith("utf-8") else encoding, errors="replace")
    if len(head) == SNIFF_BYTES:
        text = text[: text.rfind("\n") + 1]  # the last line of the sample may be cut short
    delim, header_index, fields = _sniff_layout(path, text)
    label = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with a byte-order mark", "cp1252": "Windows-1252",
             "latin-1": "Latin-1"}[encoding]
    notes.append(Assumption(file=path.name, text=f"encoding {label}"))
    shown = {"\t": "tab"}.get(delim, delim)
    notes.append(Assumption(file=path.name, text=f"delimiter {shown!r}, header on line {header_index + 1}"))
    if header_index:
        notes.append(Assumption(file=path.name, text=f"skipped {header_index} line(s) above the header"))
    source = path if encoding in ("utf-8", "utf-8-sig") else _transcode(path, encoding, scratch)
    if source != path:
        notes.append(Assumption(file=path.name, text=f"transcoded from {label} to UTF-8 before reading"))
    cols = "{" + ", ".join(f"{sql_literal(f)}: 'VARCHAR'" for f in fields) + "}"
    nulls = "[" + ", ".join(sql_literal(t) for t in NULL_TOKENS) + "]"
    sql = (f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT * FROM read_csv({sql_literal(str(source))}, "
           f"delim={sql_literal(delim)}, quote='\"', escape='\"', header=true, skip={header_index}, "
           f"auto_detect=false, columns={cols}, nullstr={nulls})")
    try:
        con.execute(sql)
    except duckdb.Error as err:
        raise UserError(f"{path}: cannot read as CSV: {_first_line(err)}") from None
    rows = con.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0]
    if rows == 0:
        raise UserError(f"{path}: the file has a header but no records")
    notes.append(Assumption(file=path.name, text=f"values {', '.join(repr(t) for t in NULL_TOKENS)} read as missing"))
    return SideFile(side=side, path=str(path), format="csv", encoding=encoding, delimiter=delim,
                    header_line=header_index + 1, rows=rows, columns=tuple(fields)), notes


# --------------------------------------------------------------------------- column kinds


def _amount_sql(col: str, decimal_comma: bool) -> str:
    """SQL parsing a text amount: currency marks and spaces dropped, ``(x)`` or a minus sign negative."""
    s = f"trim(regexp_replace({col}, '{CURRENCY}', '', 'g'))"
    digits = f"regexp_replace({s}, '[^0-9.,]', '', 'g')"
    digits = (f"replace(replace({digits}, '.', ''), ',', '.')" if decimal_comma else f"replace({digits}, ',', '')")
    sign = f"CASE WHEN {s} LIKE '(%)' OR strpos({s}, '-') > 0 THEN -1 ELSE 1 END"
    return f"({sign} * TRY_CAST({digits} AS DOUBLE))"


def cast_expression(column: str, profile: ColumnProfile, dtype: str) -> str:
    """SQL turning ``column`` (of DuckDB type ``dtype``) into the value compared: DOUBLE, TIMESTAMP or trimmed text."""
    col = quote(column)
    text_typed = dtype.upper() == "VARCHAR"
    if profile.kind in ("amount", "number"):
        if not text_typed:
            return f"TRY_CAST({col} AS DOUBLE)"
        return _amount_sql(col, profile.decimal_comma)
    if profile.kind == "date":
        if not text_typed:
            return f"TRY_CAST({col} AS TIMESTAMP)"
        formats = "[" + ", ".join(sql_literal(f) for f in profile.date_formats) + "]"
        return f"try_strptime(trim({col}), {formats})"
    return f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"


def sample_rows(con: duckdb.DuckDBPyConnection, table: str, sample: str, columns: list[str]) -> None:
    """One reservoir sample of ``SAMPLE_ROWS`` rows of ``table`` (its ``columns``) as the table ``sample``,
    which `profile_column` reads instead of scanning the whole table once per column."""
    cols = ", ".join(quote(c) for c in columns) or "1 AS none"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(sample)} AS SELECT {cols} FROM {quote(table)} "
                f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)")


def profile_column(con: duckdb.DuckDBPyConnection, table: str, column: str, dtype: str,
                   file: str, sample_table: str | None = None) -> tuple[ColumnProfile, list[Assumption]]:
    """Decide what ``column`` holds from its DuckDB type, its name and a sample of its values.

    The values come from ``sample_table`` (rows of `sample_rows`) when it holds at least ``SAMPLE_ROWS / 5``
    of them, or when it is the whole table (a table of at most ``SAMPLE_ROWS`` rows); otherwise (a
    sparse column of a large table) from a reservoir sample of the column's own non-missing values."""
    t = dtype.upper()
    if t in ("DATE",) or t.startswith("TIMESTAMP"):
        return ColumnProfile(name=column, kind="date"), []
    if t != "VARCHAR":
        numeric = any(t.startswith(p) for p in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                                  "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL"))
        if numeric:
            kind: Kind = "amount" if AMOUNT_NAME.search(column) else "number"
            return ColumnProfile(name=column, kind=kind), []
        return ColumnProfile(name=column, kind="text"), []
    col = quote(column)
    stripped = f"regexp_replace(trim(regexp_replace(v, '{CURRENCY}', '', 'g')), '\\s', '', 'g')"
    source = (f"(SELECT {col} AS v FROM {quote(table)} WHERE {col} IS NOT NULL "
              f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7))")
    if sample_table is not None:
        held, rows = con.execute(f"SELECT count({col}), count(*) FROM {quote(sample_table)}").fetchone()
        if held >= SAMPLE_ROWS // 5 or rows < SAMPLE_ROWS:
            source = f"(SELECT {col} AS v FROM {quote(sample_table)} WHERE {col} IS NOT NULL)"
    sample = f"WITH s AS {source} "
    n, us, eu, marked, plain, maybe_date = con.execute(
        f"{sample}SELECT count(*), "
        f"count(*) FILTER (WHERE regexp_full_match({stripped}, '{US_AMOUNT}')), "
        f"count(*) FILTER (WHERE regexp_full_match({stripped}, '{EU_AMOUNT}')), "
        f"count(*) FILTER (WHERE regexp_matches(v, '{CURRENCY}|^\\s*\\(.*\\)\\s*$|\\d,\\d{{3}}|\\d\\.\\d{{3}},')), "
        f"count(*) FILTER (WHERE regexp_full_match({stripped}, '-?\\d+(\\.\\d+)?')), "
        f"count(*) FILTER (WHERE regexp_matches(v, '{DATE_SHAPE}')) FROM s").fetchone()
    dated, by_format = 0, [0] * len(DATE_FORMATS)
    if n and maybe_date >= PARSE_SHARE * n:
        # try_strptime is slow on values that fail, so formats are tried only on date-shaped columns
        formats = "[" + ", ".join(sql_literal(f) for f in DATE_FORMATS) + "]"
        per_format = ", ".join(f"count(*) FILTER (WHERE try_strptime(trim(v), {sql_literal(f)}) IS NOT NULL)"
                               for f in DATE_FORMATS)
        dated, *by_format = con.execute(
            f"{sample}SELECT count(*) FILTER (WHERE try_strptime(trim(v), {formats}) IS NOT NULL), {per_format} "
            f"FROM s").fetchone()
    named = bool(AMOUNT_NAME.search(column))
    if max(us, eu) >= PARSE_SHARE * n and (named or marked > 0 or plain < PARSE_SHARE * n):
        decimal_comma = eu > us
        style = "1.234,50 (decimal comma)" if decimal_comma else "1,234.50"
        why = "its name" if named else "its values (currency marks, thousands separators or parentheses)"
        note = (f"amounts (by {why}); read as {style}, currency marks stripped, (x) and a minus sign negative")
        return ColumnProfile(name=column, kind="amount", decimal_comma=decimal_comma), [
            Assumption(file=file, column=column, text=note)]
    if plain >= PARSE_SHARE * n:
        return ColumnProfile(name=column, kind="number"), []
    if dated >= PARSE_SHARE * n:
        used = [(c, f) for f, c in zip(DATE_FORMATS, by_format) if c]
        used.sort(key=lambda cf: -cf[0])
        order = [f for _, f in used]
        note = f"dates in format(s) {', '.join(order)} (tried in that order)"
        if "%d/%m/%Y" in order and "%m/%d/%Y" in order:
            dm, md = by_format[DATE_FORMATS.index("%d/%m/%Y")], by_format[DATE_FORMATS.index("%m/%d/%Y")]
            if dm == md:
                order.remove("%m/%d/%Y")
                order.insert(order.index("%d/%m/%Y") + 1, "%m/%d/%Y")
                note = (f"dates in format(s) {', '.join(order)}; day and month are ambiguous in every sampled "
                        f"value: read as day/month/year")
        return ColumnProfile(name=column, kind="date", date_formats=tuple(order)), [
            Assumption(file=file, column=column, text=note)]
    return ColumnProfile(name=column, kind="text"), []


def unify_kinds(legacy: ColumnProfile, migrated: ColumnProfile, legacy_file: str) -> tuple[Kind, list[Assumption]]:
    """The kind a column is compared as when the two sides disagree (amount beats number; else text)."""
    kinds = {legacy.kind, migrated.kind}
    if len(kinds) == 1:
        return legacy.kind, []
    if kinds <= {"amount", "number"}:
        return "amount", []
    return "text", [Assumption(file=legacy_file, column=legacy.name,
                               text=f"read as {legacy.kind} in legacy and {migrated.kind} in migrated: "
                                    f"compared as trimmed text")]

