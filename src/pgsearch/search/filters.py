"""Compile a Mongo-style JSON metadata filter into a parameterised SQLAlchemy expression.

Language (values come from JSON, so only str/int/float/bool/None/list/object):

    {"field": value}                          equality (several keys in one object: AND)
    {"field": {"$gt": 1, "$lt": 5}}           $eq $ne $gt $gte $lt $lte $in $nin $exists
    {"$and": [f, ...]}, {"$or": [f, ...]}, {"$not": f}
    "a.b.c"                                   path into nested objects

The column is JSONB with a GIN ``jsonb_path_ops`` index, which serves only ``@>``; equality and
``$in`` are therefore written as containment. Every value and every path is a bound parameter.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import ColumnElement

from pgsearch.errors import InvalidInput
from pgsearch.jsontypes import json_type_name, unstorable
from pgsearch.schemas import INT8_MAX, INT8_MIN

__all__ = ["FIELD_OPERATORS", "LOGICAL_OPERATORS", "FilterError", "compile_filter"]

FIELD_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists")
LOGICAL_OPERATORS = ("$and", "$or", "$not")

MAX_PATH_SEGMENTS = 10
MAX_STRING_CHARS = 1000
MAX_LIST_ITEMS = 1000  # $in / $nin values, and items in one literal object or list value

_RANGE_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

Scalar = str | int | float | bool | None


class FilterError(InvalidInput, ValueError):
    """An invalid metadata filter; the message names the problem and where it is."""


def parse_filter_json(raw: str) -> dict[str, Any]:
    """A filter given as JSON text (a query parameter, a CLI option), not yet compiled."""
    try:
        spec = json.loads(raw)
    except ValueError as exc:
        raise FilterError(f"filter is not valid JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise FilterError(f"filter must be a JSON object, got {json_type_name(spec)}")
    return spec


def compile_filter(
    spec: Mapping[str, Any] | None,
    column: ColumnElement[Any],
    *,
    max_depth: int = 8,
    max_conditions: int = 100,
) -> ColumnElement[bool]:
    """Compile a filter over the JSONB `column` into a boolean SQL expression; None/{} → TRUE."""
    return compile_filter_params(
        spec, column, max_depth=max_depth, max_conditions=max_conditions
    ).where


@dataclass(frozen=True)
class CompiledFilter:
    """A compiled filter, its parameter values by name, and its shape (`shape`)."""

    where: ColumnElement[bool]
    params: dict[str, Any]
    shape: Hashable


def compile_filter_params(
    spec: Mapping[str, Any] | None,
    column: ColumnElement[Any],
    *,
    max_depth: int = 8,
    max_conditions: int = 100,
) -> CompiledFilter:
    """`compile_filter`, with what a caller needs to reuse a statement built for its shape."""
    if spec is None:
        return CompiledFilter(sa.true(), {}, None)
    compiler = _Compiler(column, max_depth=max_depth, max_conditions=max_conditions)
    where = compiler.filter(spec, "filter", depth=1)
    return CompiledFilter(where, compiler.params, shape(spec))


def shape(value: Any) -> Hashable:
    """What of a filter decides its SQL: keys and operators in order, and the kinds of values
    (a string and a number compare differently, `$exists` true and false are different SQL).
    Two filters of one shape compile to the same SQL with the same parameter names."""
    if isinstance(value, Mapping):
        return ("{", tuple((k, shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[", tuple(shape(v) for v in value))
    if isinstance(value, bool) or value is None:
        return value
    return type(value).__name__


class _Compiler:
    def __init__(self, column: ColumnElement[Any], *, max_depth: int, max_conditions: int) -> None:
        self.column = column
        self.max_depth = max_depth
        self.max_conditions = max_conditions
        self.conditions = 0
        self.params: dict[str, Any] = {}

    # --- structure ------------------------------------------------------------------------

    def filter(self, spec: Any, where: str, *, depth: int) -> ColumnElement[bool]:
        if not isinstance(spec, Mapping):
            raise FilterError(f"{where}: a filter must be an object, got {json_type_name(spec)}")
        if depth > self.max_depth:
            raise FilterError(f"{where}: filter is nested deeper than {self.max_depth} levels")
        clauses: list[ColumnElement[bool]] = []
        for key, value in spec.items():
            _check_key(key, where)
            if key.startswith("$"):
                clauses.append(self._logical(key, value, f"{where}.{key}", depth=depth))
            else:
                path = _parse_path(key, f"{where}.{key}")
                clauses.append(self._field(path, value, f"{where}.{key}"))
        if not clauses:
            return sa.true()
        return sa.and_(*clauses) if len(clauses) > 1 else clauses[0]

    def _logical(self, op: str, value: Any, where: str, *, depth: int) -> ColumnElement[bool]:
        if op in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                got = "an empty list" if value == [] else json_type_name(value)
                raise FilterError(f"{where}: {op} takes a non-empty list of filters, got {got}")
            subs = [
                self.filter(sub, f"{where}[{i}]", depth=depth + 1) for i, sub in enumerate(value)
            ]
            return sa.and_(*subs) if op == "$and" else sa.or_(*subs)
        if op == "$not":
            if not isinstance(value, Mapping):
                raise FilterError(
                    f"{where}: $not takes a filter object, got {json_type_name(value)}"
                )
            return _negate(self.filter(value, where, depth=depth + 1))
        if op in FIELD_OPERATORS:
            raise FilterError(
                f'{where}: {op} must be applied to a field, e.g. {{"price": {{"{op}": ...}}}}'
            )
        raise FilterError(f"{where.rpartition('.')[0]}: {_unknown(op, LOGICAL_OPERATORS)}")

    def _field(self, path: list[str], value: Any, where: str) -> ColumnElement[bool]:
        if isinstance(value, Mapping) and any(
            isinstance(k, str) and k.startswith("$") for k in value
        ):
            for key in value:
                _check_key(key, where)
            plain = [k for k in value if not k.startswith("$")]
            if plain:
                raise FilterError(
                    f"{where}: mixes operators with plain keys ({', '.join(map(repr, plain))}); "
                    "use either an operator object or a literal object value"
                )
            clauses = [self._operator(op, path, arg, f"{where}.{op}") for op, arg in value.items()]
            return sa.and_(*clauses) if len(clauses) > 1 else clauses[0]
        self._count(where)
        return self._eq(path, _literal(value, where))

    def _count(self, where: str) -> None:
        self.conditions += 1
        if self.conditions > self.max_conditions:
            raise FilterError(f"{where}: filter has more than {self.max_conditions} conditions")

    # --- operators --------------------------------------------------------------------------

    def _operator(self, op: str, path: list[str], arg: Any, where: str) -> ColumnElement[bool]:
        if op in LOGICAL_OPERATORS:
            example = (
                '{"$not": {"price": {"$gt": 5}}}'
                if op == "$not"
                else (f'{{"{op}": [{{"price": {{"$gt": 5}}}}, {{"tags": "new"}}]}}')
            )
            raise FilterError(
                f"{where}: {op} is a logical operator and takes whole filters, e.g. {example}"
            )
        if op not in FIELD_OPERATORS:
            field = where.rpartition(".")[0]  # an unknown operator is not a place: name its field
            raise FilterError(f"{field}: {_unknown(op, FIELD_OPERATORS)}")
        self._count(where)
        if op in ("$eq", "$ne"):
            eq = self._eq(path, _literal(arg, where))
            return eq if op == "$eq" else _negate(eq)
        if op in ("$in", "$nin"):
            contained = self._in(path, _scalar_list(arg, op, where))
            return contained if op == "$in" else _negate(contained)
        if op == "$exists":
            if not isinstance(arg, bool):
                raise FilterError(
                    f"{where}: $exists takes true or false, got {json_type_name(arg)}"
                )
            # #> yields SQL NULL only when the path is missing; a JSON null value still exists.
            value = self._get(path)
            return value.is_not(None) if arg else value.is_(None)
        return self._range(_RANGE_SQL[op], path, _range_value(arg, op, where))

    def _eq(self, path: list[str], value: Any) -> ColumnElement[bool]:
        if isinstance(value, dict | list):
            # Equality implies containment, so the @> lets the GIN index find candidates.
            exact = self._get(path) == self._param(value, JSONB)
            return sa.and_(self._contains(_nest(path, value)), exact)
        # Like Mongo, a scalar also matches an array that holds it. A nested array must be
        # spelled out: '{"a": ["x"]}' @> '{"a": "x"}' is false in PostgreSQL.
        return sa.or_(self._contains(_nest(path, value)), self._contains(_nest(path, [value])))

    def _in(self, path: list[str], values: list[Scalar]) -> ColumnElement[bool]:
        # One array parameter however long the list (psycopg allows 65,535 parameters per
        # query); a bitmap scan on the GIN index serves `@> ANY (array)`.
        candidates = [obj for v in values for obj in (_nest(path, v), _nest(path, [v]))]
        array = sa.cast(self._param(candidates, ARRAY(JSONB)), ARRAY(JSONB))
        return self.column.bool_op("@>")(sa.any_(array))

    def _range(self, sql_op: str, path: list[str], value: int | float | str) -> ColumnElement[bool]:
        got = self._get(path)
        if isinstance(value, str):
            # jsonb compares strings in the database's collation; "C" makes ISO dates and
            # other strings compare byte-wise, the same on every server.
            text = self.column.op("#>>", return_type=sa.Text)(self._path(path))
            compared = text.collate("C").bool_op(sql_op)(self._param(value, sa.Text()))
            json_type = "string"
        else:
            compared = got.bool_op(sql_op)(self._param(value, JSONB))
            json_type = "number"
        # The type check keeps strings from comparing with numbers (jsonb orders across types).
        return sa.and_(sa.func.jsonb_typeof(got) == json_type, compared)

    def _contains(self, obj: Any) -> ColumnElement[bool]:
        return self.column.bool_op("@>")(self._param(obj, JSONB))

    def _get(self, path: list[str]) -> ColumnElement[Any]:
        # An explicit TEXT[] parameter: SQLAlchemy's own JSON path type joins the keys into a
        # '{a, b}' literal, which breaks on keys holding commas, quotes, braces or "NULL".
        return self.column.op("#>", return_type=JSONB)(self._path(path))

    def _path(self, path: list[str]) -> ColumnElement[Any]:
        return self._param(list(path), ARRAY(sa.Text))

    def _param(self, value: Any, type_: Any) -> ColumnElement[Any]:
        # Named in the order the filter is walked, so filters of one shape (see `shape`) make
        # the same SQL with the same parameter names, and a statement built for one serves all.
        name = f"filter_{len(self.params)}"
        self.params[name] = value
        return sa.bindparam(name, value, type_=type_)


def _negate(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    # NOT NULL is NULL and would drop the row; IS NOT TRUE keeps rows where the field is
    # missing (or the column is NULL), as Mongo's $ne / $nin / $not do.
    return clause.is_not(sa.true())


def _nest(path: Sequence[str], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


# --- validation ---------------------------------------------------------------------------


def _check_key(key: Any, where: str) -> None:
    if not isinstance(key, str):
        raise FilterError(f"{where}: keys must be strings, got {key!r} ({json_type_name(key)})")
    problem = unstorable(key)
    if problem:
        raise FilterError(f"{where}: key {key!r} contains {problem}, which jsonb cannot store")
    if len(key) > MAX_STRING_CHARS:
        raise FilterError(f"{where}: key is longer than {MAX_STRING_CHARS} characters")


def _parse_path(field: str, where: str) -> list[str]:
    if not field:
        raise FilterError(f"{where}: empty field name")
    segments = field.split(".")
    if any(not s for s in segments):
        raise FilterError(f"{where}: field path {field!r} has an empty segment")
    for segment in segments:
        if segment.startswith("$"):
            raise FilterError(
                f"{where}: field path segment {segment!r} must not start with '$' "
                '(operators go in an object: {"field": {"$op": value}})'
            )
    if len(segments) > MAX_PATH_SEGMENTS:
        raise FilterError(
            f"{where}: field path has {len(segments)} segments (at most {MAX_PATH_SEGMENTS})"
        )
    return segments


def _literal(value: Any, where: str) -> Any:
    """Validate an equality value (scalar, list or object) and return it as plain JSON data."""
    budget = [MAX_LIST_ITEMS]  # items across the whole value, so nesting cannot multiply them

    def check(v: Any, depth: int) -> Any:
        if isinstance(v, Mapping | list):
            if depth >= MAX_PATH_SEGMENTS:
                raise FilterError(
                    f"{where}: value is nested deeper than {MAX_PATH_SEGMENTS} levels"
                )
            budget[0] -= len(v)
            if budget[0] < 0:
                raise FilterError(f"{where}: value has more than {MAX_LIST_ITEMS} items")
            if isinstance(v, list):
                return [check(item, depth + 1) for item in v]
            for key in v:
                _check_key(key, where)
                if key.startswith("$"):
                    raise FilterError(
                        f"{where}: operator {key!r} inside a value; to compare a nested field "
                        'use a dotted path, e.g. {"a.b": {"$gt": 1}}'
                    )
            return {key: check(item, depth + 1) for key, item in v.items()}
        return _scalar(v, where)

    return check(value, 0)


def _scalar(value: Any, where: str) -> Scalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not INT8_MIN <= value <= INT8_MAX:
            raise FilterError(
                f"{where}: integer {value} is outside the signed 64-bit range; "
                "larger numbers lose precision in JSON clients and cannot be matched reliably"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError(f"{where}: {value} is not a valid JSON number (NaN or infinity)")
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise FilterError(
                f"{where}: string is {len(value)} characters long (at most {MAX_STRING_CHARS})"
            )
        problem = unstorable(value)
        if problem:
            raise FilterError(f"{where}: string contains {problem}, which jsonb cannot store")
        return value
    raise FilterError(
        f"{where}: unsupported value type {type(value).__name__} "
        "(use a string, number, boolean, null, list or object; dates as ISO strings)"
    )


def _scalar_list(value: Any, op: str, where: str) -> list[Scalar]:
    if not isinstance(value, list) or not value:
        got = "an empty list" if value == [] else json_type_name(value)
        raise FilterError(f"{where}: {op} takes a non-empty list, got {got}")
    if len(value) > MAX_LIST_ITEMS:
        raise FilterError(f"{where}: {op} has {len(value)} values (at most {MAX_LIST_ITEMS})")
    for i, item in enumerate(value):
        if isinstance(item, Mapping | list):
            raise FilterError(
                f"{where}[{i}]: {op} values must be strings, numbers, booleans or null, "
                f"got {json_type_name(item)}"
            )
    return [_scalar(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _range_value(value: Any, op: str, where: str) -> int | float | str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FilterError(
            f"{where}: {op} takes a number or a string (e.g. an ISO date), "
            f"got {json_type_name(value)}"
        )
    scalar = _scalar(value, where)
    assert not isinstance(scalar, bool) and scalar is not None  # narrowed above
    return scalar


def _unknown(op: str, allowed: Sequence[str]) -> str:
    known = [o for o in FIELD_OPERATORS + LOGICAL_OPERATORS if o != op]
    close = difflib.get_close_matches(op, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown operator {op!r} (use one of {', '.join(allowed)}){hint}"
