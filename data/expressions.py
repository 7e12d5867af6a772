"""User expressions: parsed by DuckDB's own parser, checked against an allow-list, rendered back as SQL.

A workspace is data, never code. Every expression a user writes (a metric's ``expr``, ``numerator``,
``denominator``; later filters and comparisons) goes through `checked_sql`: DuckDB parses
``SELECT <text>`` without running it (``json_serialize_sql``), the tree must be exactly one select item
with no FROM, alias or clause, and `_Renderer` walks that item: every node must be a column of the
records, a literal, arithmetic, a comparison, AND/OR/NOT, IS [NOT] NULL, IN (a list), BETWEEN, CASE, a
CAST to a scalar type, or a call of an allow-listed scalar function (`FUNCTIONS`). Anything else -- a
subquery, a table function, an aggregate or window, a lambda, a parameter, a qualified name, a comment
-- is refused with the offending part quoted. The SQL that reaches the engine is rendered from the
checked tree (identifiers always quoted, strings re-escaped), never the user's text, so statements and
quoting tricks cannot survive: ``minutes; COPY ...`` is several statements and is refused.

Using the engine's own parser means there is no second parser whose reading of the text could differ
from the one that runs it.
"""

from __future__ import annotations

import atexit
import difflib
import json
import re
import threading
from collections.abc import Collection
from typing import Any

import duckdb

MAX_LENGTH = 2000
MAX_DEPTH = 64
PREFIX = "SELECT "

# Scalar functions of one record's values: arithmetic, null handling, text, dates. No aggregates or
# windows (an expression is per record), nothing that reads files, settings, variables or the clock.
FUNCTIONS = frozenset({
    "abs", "ceil", "ceiling", "floor", "round", "trunc", "sign", "sqrt", "cbrt", "exp", "ln", "log", "log2",
    "log10", "pow", "power", "greatest", "least", "isnan", "isinf", "isfinite",
    "nullif", "ifnull", "if",
    "lower", "upper", "length", "trim", "ltrim", "rtrim", "substring", "substr", "left", "right", "concat",
    "replace", "starts_with", "ends_with", "contains", "strpos", "lpad", "rpad", "regexp_matches",
    "regexp_full_match",
    "date_trunc", "datetrunc", "date_part", "datepart", "date_diff", "datediff", "date_sub", "datesub", "epoch",
    "epoch_ms", "year", "month", "day", "hour", "minute", "second", "dayofweek", "dayofmonth", "dayofyear",
    "isodow", "week", "weekofyear", "quarter", "make_date", "make_timestamp", "strftime", "to_timestamp",
    "to_seconds", "to_minutes", "to_hours", "to_days", "to_weeks", "to_months", "to_years", "to_milliseconds",
    "to_microseconds",
})
# Operators DuckDB's parser turns into function calls, and how they read back.
BINARY = {"+": "+", "-": "-", "*": "*", "/": "/", "//": "//", "%": "%", "^": "^", "**": "**", "||": "||",
          "~~": "LIKE", "!~~": "NOT LIKE", "~~*": "ILIKE", "!~~*": "NOT ILIKE"}
UNARY = {"-": "-", "+": "+"}
COMPARISONS = {"COMPARE_EQUAL": "=", "COMPARE_NOTEQUAL": "<>", "COMPARE_LESSTHAN": "<",
               "COMPARE_GREATERTHAN": ">", "COMPARE_LESSTHANOREQUALTO": "<=", "COMPARE_GREATERTHANOREQUALTO": ">=",
               "COMPARE_DISTINCT_FROM": "IS DISTINCT FROM", "COMPARE_NOT_DISTINCT_FROM": "IS NOT DISTINCT FROM"}
CAST_TYPES = frozenset({
    "BOOLEAN", "BOOL", "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL", "NUMERIC", "VARCHAR", "TEXT", "STRING", "DATE",
    "TIME", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "INTERVAL",
})
NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class ExpressionError(ValueError):
    """An expression that does not parse or uses something outside the allow-list; one line."""


_parser: duckdb.DuckDBPyConnection | None = None
_parser_lock = threading.Lock()


def _close_parser() -> None:
    global _parser
    with _parser_lock:
        if _parser is not None:
            _parser.close()
            _parser = None


def _tree(text: str) -> dict[str, Any]:
    """DuckDB's parse tree of ``SELECT <text>`` (parsed only, never run), from one shared in-memory
    connection without external access (opened on first use, closed at exit)."""
    global _parser
    with _parser_lock:
        if _parser is None:
            _parser = duckdb.connect(config={"enable_external_access": False})
            atexit.register(_close_parser)
        raw = _parser.execute("SELECT json_serialize_sql(?)", [PREFIX + text]).fetchone()[0]
    return json.loads(raw)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Renderer:
    """Walks a checked tree and writes SQL; any node it does not know is an `ExpressionError`."""

    def __init__(self, text: str, columns: Collection[str] | None):
        self.text = text
        self.columns = None if columns is None else {c.lower(): c for c in columns}

    def part(self, node: dict) -> str:
        """The user's text behind ``node`` (for messages), when the parser recorded where it was."""
        start, length = node.get("query_location", -1), node.get("query_location_length", 0)
        source = (PREFIX + self.text).encode()
        if not isinstance(start, int) or not len(PREFIX) <= start < len(source) or not length:
            return ""
        return source[start:start + length].decode(errors="replace")

    def refuse(self, node: dict, what: str) -> ExpressionError:
        part = self.part(node)
        return ExpressionError(f"{what} is not allowed in an expression" + (f" (at {part!r})" if part else ""))

    def render(self, node: dict, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        if node.get("alias"):
            raise self.refuse(node, f"an alias ({node['alias']!r})")
        kind = node.get("class")
        method = getattr(self, f"_{str(kind).lower()}", None)
        if method is None:
            raise self.refuse(node, _NAMES.get(kind, f"a {str(kind).lower().replace('_', ' ')}"))
        return method(node, depth + 1)

    def _column_ref(self, node: dict, depth: int) -> str:
        names = node["column_names"]
        if len(names) != 1:
            raise self.refuse(node, f"a qualified name ({'.'.join(names)})")
        name = names[0]
        if self.columns is not None:
            if name.lower() not in self.columns:
                close = difflib.get_close_matches(name.lower(), list(self.columns), n=1)
                hint = (f"did you mean {self.columns[close[0]]!r}?" if close
                        else "columns: " + ", ".join(sorted(self.columns.values())[:12]))
                raise ExpressionError(f"{name!r} is not a column of the records ({hint})")
            name = self.columns[name.lower()]
        return _quote(name)

    def _constant(self, node: dict, depth: int) -> str:
        literal = node["literal"]
        kind, text = literal.get("kind"), literal.get("text", "")
        if kind in ("INTEGER", "NUMERIC"):
            number = text.replace("_", "")
            if not NUMBER.match(number):
                raise self.refuse(node, f"the number {text!r}")
            return f"({number})" if number.startswith("-") else number
        if kind == "STRING":
            return _literal(text)
        if kind == "BOOLEAN" and text.lower() in ("true", "false"):
            return text.upper()
        if kind == "NULL_LITERAL":
            return "NULL"
        raise self.refuse(node, f"a {str(kind).lower()} literal")

    def _args(self, nodes: list[dict], depth: int) -> list[str]:
        return [self.render(n, depth) for n in nodes]

    def _function(self, node: dict, depth: int) -> str:
        name = str(node["function_name"]).lower()
        if node.get("catalog") or node.get("schema"):
            raise self.refuse(node, f"a qualified function name ({node.get('catalog') or node.get('schema')}.{name})")
        if node.get("distinct") or node.get("filter") or node.get("export_state") \
                or node.get("order_bys", {}).get("orders"):
            raise self.refuse(node, f"an aggregate clause in {name}()")
        if any(a.get("name") for a in node["arguments"]):
            raise self.refuse(node, f"a named argument of {name}()")
        arity = len(node["arguments"])
        if node.get("is_operator"):
            if not ((arity == 2 and name in BINARY) or (arity == 1 and name in UNARY)):
                raise self.refuse(node, f"the operator {name!r}")
        elif name not in FUNCTIONS:
            raise self.refuse(node, f"the function {name}()")
        args = self._args([a["expression"] for a in node["arguments"]], depth)
        if not node.get("is_operator"):
            return f"{name}({', '.join(args)})"
        return f"({args[0]} {BINARY[name]} {args[1]})" if arity == 2 else f"({UNARY[name]} {args[0]})"

    def _comparison(self, node: dict, depth: int) -> str:
        op = COMPARISONS.get(node["type"])
        if op is None:
            raise self.refuse(node, f"the comparison {node['type']}")
        return f"({self.render(node['left'], depth)} {op} {self.render(node['right'], depth)})"

    def _conjunction(self, node: dict, depth: int) -> str:
        op = {"CONJUNCTION_AND": " AND ", "CONJUNCTION_OR": " OR "}.get(node["type"])
        if op is None:
            raise self.refuse(node, f"the operator {node['type']}")
        return "(" + op.join(self._args(node["children"], depth)) + ")"

    def _operator(self, node: dict, depth: int) -> str:
        kind, args = node["type"], self._args(node["children"], depth)
        if kind == "OPERATOR_NOT" and len(args) == 1:
            return f"(NOT {args[0]})"
        if kind in ("OPERATOR_IS_NULL", "OPERATOR_IS_NOT_NULL") and len(args) == 1:
            return f"({args[0]} IS {'NOT ' if kind.endswith('NOT_NULL') else ''}NULL)"
        if kind in ("COMPARE_IN", "COMPARE_NOT_IN") and len(args) >= 2:
            return f"({args[0]} {'NOT ' if kind == 'COMPARE_NOT_IN' else ''}IN ({', '.join(args[1:])}))"
        if kind == "OPERATOR_COALESCE" and args:
            return f"coalesce({', '.join(args)})"
        raise self.refuse(node, f"the operator {kind}")

    def _between(self, node: dict, depth: int) -> str:
        return (f"({self.render(node['input'], depth)} BETWEEN {self.render(node['lower'], depth)} "
                f"AND {self.render(node['upper'], depth)})")

    def _case(self, node: dict, depth: int) -> str:
        parts = ["CASE"]
        for check in node["case_checks"]:
            parts += ["WHEN", self.render(check["when_expr"], depth), "THEN", self.render(check["then_expr"], depth)]
        parts += ["ELSE", self.render(node["else_expr"], depth), "END"]
        return "(" + " ".join(parts) + ")"

    def _cast(self, node: dict, depth: int) -> str:
        target = node["type_expr"]
        if target.get("class") != "TYPE" or target.get("catalog") or target.get("schema"):
            raise self.refuse(node, "a cast to that type")
        type_name = str(target["type_name"]).upper()
        if type_name not in CAST_TYPES:
            raise self.refuse(node, f"a cast to {type_name}")
        modifiers = [self._constant(c, depth) if c.get("class") == "CONSTANT" and c["literal"].get("kind") == "INTEGER"
                     else None for c in target.get("children", [])]
        if None in modifiers or (modifiers and type_name not in ("DECIMAL", "NUMERIC")) or len(modifiers) > 2:
            raise self.refuse(node, f"a cast to {type_name} with those arguments")
        type_sql = type_name + (f"({', '.join(modifiers)})" if modifiers else "")
        cast = "TRY_CAST" if node.get("try_cast") else "CAST"
        return f"{cast}({self.render(node['child'], depth)} AS {type_sql})"


_NAMES = {"SUBQUERY": "a subquery", "WINDOW": "a window function", "LAMBDA": "a lambda", "PARAMETER": "a parameter",
          "STAR": "'*'", "COLLATE": "COLLATE", "POSITIONAL_REFERENCE": "a positional reference", "DEFAULT": "DEFAULT"}
_CLAUSES = {"where_clause": "WHERE", "having": "HAVING", "sample": "USING SAMPLE", "qualify": "QUALIFY"}


def checked_sql(text: str, columns: Collection[str] | None = None) -> str:
    """SQL for one user expression, rendered from its checked parse tree; `ExpressionError` if refused.

    With ``columns``, every column reference must be one of them (case-insensitive, rendered as spelled
    there); without, column names are left for the engine to bind. Rendering is a fixed point:
    ``checked_sql(checked_sql(t)) == checked_sql(t)``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    if "\x00" in text:
        raise ExpressionError("the expression contains a NUL character")
    if any(kind == duckdb.token_type.comment for _, kind in duckdb.tokenize(text)):
        raise ExpressionError("comments ('--', '/* */') are not allowed in an expression")
    tree = _tree(text)
    if tree.get("error"):
        if tree.get("error_type") == "parser":
            raise ExpressionError(f"does not parse: {tree.get('error_message', 'syntax error')}")
        raise ExpressionError("must be one expression, not SQL statements (COPY, PRAGMA, SET, ATTACH, INSTALL, "
                              "LOAD, ... are not allowed)")
    statements = tree["statements"]
    if len(statements) != 1:
        raise ExpressionError("must be one expression, not several statements (';' is not allowed)")
    node = statements[0]["node"]
    if node.get("type") != "SELECT_NODE":
        raise ExpressionError("must be one expression, not a query (UNION, VALUES, ... are not allowed)")
    if len(node["select_list"]) != 1:
        raise ExpressionError("must be one expression, not a list (',' outside a function call is not allowed)")
    extra = [label for key, label in _CLAUSES.items() if node.get(key) is not None]
    if node["from_table"].get("type") != "EMPTY":
        extra.insert(0, "FROM")
    if node.get("modifiers") or node.get("cte_map", {}).get("map") or node.get("group_expressions") \
            or node.get("group_sets") or node.get("aggregate_handling") != "STANDARD_HANDLING":
        extra.append("DISTINCT, ORDER BY, LIMIT, GROUP BY or WITH")
    if extra:
        raise ExpressionError(f"must be one expression, not a query ({extra[0]} is not allowed)")
    try:
        return _Renderer(text, columns).render(node["select_list"][0])
    except (KeyError, TypeError, AttributeError):  # a node shaped unlike any this module knows
        raise ExpressionError("is not an expression this workbench supports") from None
