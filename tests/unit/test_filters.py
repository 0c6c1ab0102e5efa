"""compile_filter without a database: SQL shape, parameters only, and every error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from pgsearch.models import Document
from pgsearch.search.filters import (
    FIELD_OPERATORS,
    FilterError,
    compile_filter,
    compile_filter_params,
    shape,
)
from tests.filter_cases import FILTER_CASES, FILTER_CORPUS

docs = sa.table("docs", sa.column("id", sa.Integer), sa.column("metadata", JSONB))
META = docs.c.metadata
DIALECT = sa.create_engine("postgresql+psycopg://").dialect  # no connection is made

INJECTIONS = ["'; DROP TABLE users; --", "a') OR 1=1 --", "\"}}'); DELETE FROM docs; --"]


def compiled(expr: ColumnElement[bool]) -> tuple[str, dict[str, Any]]:
    c = expr.compile(dialect=DIALECT)
    return str(c), dict(c.params)


def sql_of(spec: dict[str, Any] | None) -> str:
    return compiled(compile_filter(spec, META))[0]


def params_of(spec: dict[str, Any]) -> list[Any]:
    return list(compiled(compile_filter(spec, META))[1].values())


def strings(value: Any) -> Iterator[str]:
    """Every string in a parameter value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def error_of(spec: Any, **kwargs: Any) -> str:
    with pytest.raises(FilterError) as info:
        compile_filter(spec, META, **kwargs)
    return str(info.value)


# --- SQL shape ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [None, {}])
def test_empty_filter_is_true(spec: dict[str, Any] | None) -> None:
    assert sql_of(spec) == "true"


def test_scalar_equality_is_two_containments() -> None:
    sql, params = compiled(compile_filter({"author.country": "US"}, META))
    assert sql.count("docs.metadata @> ") == 2
    assert " OR " in sql
    assert sorted(map(str, params.values())) == sorted(
        map(str, [{"author": {"country": "US"}}, {"author": {"country": ["US"]}}])
    )


def test_eq_operator_equals_shorthand() -> None:
    assert params_of({"a": {"$eq": 1}}) == params_of({"a": 1})


def test_object_equality_uses_containment_and_exact_match() -> None:
    sql, params = compiled(compile_filter({"author": {"name": "Dan"}}, META))
    assert "docs.metadata @> " in sql
    assert "docs.metadata #> " in sql and "::TEXT[]" in sql
    assert {"author": {"name": "Dan"}} in params.values()
    assert ["author"] in params.values()


def test_in_is_one_array_parameter() -> None:
    values = [f"v{i}" for i in range(1000)]
    sql, params = compiled(compile_filter({"tag": {"$in": values}}, META))
    assert "@> ANY (" in sql
    (array,) = params.values()
    assert len(array) == 2000
    assert array[:2] == [{"tag": "v0"}, {"tag": ["v0"]}]


@pytest.mark.parametrize(
    ("spec", "negated"),
    [
        ({"a": {"$ne": 1}}, {"a": 1}),
        ({"a": {"$nin": [1, 2]}}, {"a": {"$in": [1, 2]}}),
        ({"$not": {"a": {"$gt": 1}}}, {"a": {"$gt": 1}}),
    ],
)
def test_negations_use_is_not_true(spec: dict[str, Any], negated: dict[str, Any]) -> None:
    # NOT (NULL) would drop documents missing the field; IS NOT true keeps them.
    sql = sql_of(spec)
    assert sql.endswith("IS NOT true")
    assert "NOT (" not in sql
    assert sql_of(negated) in sql


def test_number_range_checks_type_and_compares_jsonb() -> None:
    sql, params = compiled(compile_filter({"price": {"$gte": 10, "$lt": 20.5}}, META))
    assert sql.count("jsonb_typeof(docs.metadata #> ") == 2
    assert re.search(r"#> %\(\w+\)s::TEXT\[\]\) >= %\(\w+\)s::JSONB", sql)
    assert "number" in params.values() and 10 in params.values() and 20.5 in params.values()


def test_string_range_compares_bytewise() -> None:
    sql, params = compiled(compile_filter({"date": {"$gt": "2024-01-01"}}, META))
    assert re.search(r'#>> %\(\w+\)s::TEXT\[\]\) COLLATE "C" > %\(\w+\)s', sql)
    assert "string" in params.values() and "2024-01-01" in params.values()


@pytest.mark.parametrize(("flag", "test"), [(True, "IS NOT NULL"), (False, "IS NULL")])
def test_exists(flag: bool, test: str) -> None:
    assert sql_of({"a.b": {"$exists": flag}}).endswith(test)


def test_logical_operators_combine() -> None:
    sql = sql_of({"$or": [{"a": 1}, {"$and": [{"b": 2}, {"c": {"$exists": True}}]}], "d": 3})
    assert sql.count("@>") == 6 and " AND " in sql and " OR " in sql


def test_dotted_path_nests_and_keeps_quotes() -> None:
    params = params_of({'it\'s."q"': {"$exists": True}})
    assert params == [["it's", '"q"']]
    assert params_of({"a.b.c": "x"})[0] == {"a": {"b": {"c": "x"}}}


# --- no SQL injection --------------------------------------------------------------------


@pytest.mark.parametrize("evil", INJECTIONS)
@pytest.mark.parametrize(
    "make",
    [
        lambda e: {"name": e},
        lambda e: {e: "x"},
        lambda e: {f"a.{e}": {"$gt": e}},
        lambda e: {e: {"$in": [e, 1]}},
        lambda e: {e: {"$exists": True}},
        lambda e: {"$not": {e: {"$ne": e}}},
        lambda e: {"obj": {e: [e]}},
    ],
)
def test_values_and_keys_are_only_bound_parameters(evil: str, make: Any) -> None:
    sql, params = compiled(compile_filter(make(evil), META))
    assert evil not in sql
    assert "DROP" not in sql and "DELETE" not in sql and "1=1" not in sql
    assert evil in set(strings(params))  # it reaches the database only as a parameter value


def test_literal_binds_not_needed() -> None:
    # Every placeholder is a named parameter: nothing was pasted into the SQL text.
    sql, params = compiled(compile_filter({"a": {"$gt": 1}, "b": "x", "c": {"$in": [1]}}, META))
    assert set(re.findall(r"%\((\w+)\)s", sql)) == set(params)


# --- errors ------------------------------------------------------------------------------

ERRORS: list[tuple[Any, str]] = [
    ([{"a": 1}], "filter: a filter must be an object, got a list"),
    (
        {"$and": [{"a": 1}, {"price": {"$gtt": 1}}]},
        "filter.$and[1].price: unknown operator '$gtt' (use one of $eq, $ne, $gt, $gte, $lt, "
        "$lte, $in, $nin, $exists); did you mean '$gt'?",
    ),
    ({"price": {"$gtt": 1}}, "did you mean '$gt'?"),
    ({"price": {"$foo": 1}}, "(use one of $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists)"),
    (
        {"$nor": [{"a": 1}]},
        "filter: unknown operator '$nor' (use one of $and, $or, $not); did you mean '$or'?",
    ),
    ({"$gt": 5}, "filter.$gt: $gt must be applied to a field"),
    ({"a": {"$not": {"$gt": 5}}}, "filter.a.$not: $not is a logical operator"),
    (
        {"a": {"$or": [1, 2]}},
        'filter.a.$or: $or is a logical operator and takes whole filters, e.g. {"$or": [{',
    ),
    ({"a": {"$gt": 1, "b": 2}}, "filter.a: mixes operators with plain keys ('b')"),
    ({"a": {"b": {"$gt": 1}}}, "filter.a: operator '$gt' inside a value"),
    ({"$and": []}, "filter.$and: $and takes a non-empty list of filters, got an empty list"),
    ({"$or": {"a": 1}}, "filter.$or: $or takes a non-empty list of filters, got an object"),
    ({"$and": [1]}, "filter.$and[0]: a filter must be an object, got a number"),
    ({"$not": [{"a": 1}]}, "filter.$not: $not takes a filter object, got a list"),
    ({"a": {"$in": "x"}}, "filter.a.$in: $in takes a non-empty list, got a string"),
    ({"a": {"$in": []}}, "filter.a.$in: $in takes a non-empty list, got an empty list"),
    ({"a": {"$nin": [1, [2]]}}, "filter.a.$nin[1]: $nin values must be strings, numbers"),
    ({"a": {"$in": list(range(1001))}}, "$in has 1001 values (at most 1000)"),
    (
        {"a": {"$gt": True}},
        "filter.a.$gt: $gt takes a number or a string (e.g. an ISO date), got a bool",
    ),
    ({"a": {"$lt": None}}, "filter.a.$lt: $lt takes a number or a string"),
    ({"a": {"$gte": {"x": 1}}}, "got an object"),
    ({"a": {"$lte": [1]}}, "got a list"),
    ({"a": {"$exists": 1}}, "filter.a.$exists: $exists takes true or false, got a number"),
    ({"a": {"$exists": "yes"}}, "$exists takes true or false, got a string"),
    ({"a": float("nan")}, "filter.a: nan is not a valid JSON number"),
    ({"a": {"$gt": float("inf")}}, "filter.a.$gt: inf is not a valid JSON number"),
    ({"a": {"$in": [float("-inf")]}}, "filter.a.$in[0]: -inf is not a valid JSON number"),
    ({"a": 2**63}, "outside the signed 64-bit range"),
    ({"a": {"$lt": -(2**63) - 1}}, "larger numbers lose precision"),
    ({"a": "x" * 1001}, "filter.a: string is 1001 characters long (at most 1000)"),
    ({"a": {"$in": ["x" * 5000]}}, "filter.a.$in[0]: string is 5000 characters long"),
    ({".".join("abcdefghijk"): 1}, "field path has 11 segments (at most 10)"),
    ({"": 1}, "filter.: empty field name"),
    ({"a..b": 1}, "field path 'a..b' has an empty segment"),
    ({".a": 1}, "has an empty segment"),
    ({"a.": 1}, "has an empty segment"),
    ({"a.$b": 1}, "field path segment '$b' must not start with '$'"),
    ({"a\x00b": 1}, "contains a NUL character (\\u0000), which jsonb cannot store"),
    ({"a": "x\x00"}, "filter.a: string contains a NUL character"),
    ({"a": {"$in": ["ok", "x\x00"]}}, "filter.a.$in[1]: string contains a NUL character"),
    ({"a": {"k\x00": 1}}, "NUL character"),
    ({"a": "x\ud800"}, "filter.a: string contains an unpaired surrogate (\\ud800)"),
    ({"a\udc00": 1}, "contains an unpaired surrogate (\\udc00), which jsonb cannot store"),
    ({1: "x"}, "filter: keys must be strings, got 1 (a number)"),
    ({"$and": [{None: 1}]}, "filter.$and[0]: keys must be strings, got None (null)"),
    ({"a": {2: "x"}}, "filter.a: keys must be strings, got 2"),
    ({"a": {"$gt": 1, 3: 2}}, "keys must be strings"),
    ({"x" * 1001: 1}, "key is longer than 1000 characters"),
    ({"a": {1, 2}}, "filter.a: unsupported value type set"),
    ({"a": {"$eq": b"x"}}, "unsupported value type bytes"),
    ({"a": [[[[[[[[[[[1]]]]]]]]]]]}, "value is nested deeper than 10 levels"),
    ({"a": list(range(1001))}, "value has more than 1000 items"),
    ({"a": [list(range(600)), list(range(600))]}, "value has more than 1000 items"),
]


@pytest.mark.parametrize(("spec", "message"), ERRORS)
def test_invalid_filters_raise_helpful_errors(spec: Any, message: str) -> None:
    assert message in error_of(spec)


def test_filter_error_is_a_value_error() -> None:
    assert issubclass(FilterError, ValueError)


def test_depth_limit() -> None:
    spec: dict[str, Any] = {"a": 1}
    for _ in range(7):
        spec = {"$not": spec}
    compile_filter(spec, META)  # 8 levels: allowed by default
    message = error_of({"$and": [spec]})
    assert "filter.$and[0]" in message and "nested deeper than 8 levels" in message
    assert "deeper than 2 levels" in error_of({"$or": [{"$or": [{"a": 1}]}]}, max_depth=2)


def test_condition_limit() -> None:
    compile_filter({f"f{i}": i for i in range(100)}, META)
    message = error_of({f"f{i}": i for i in range(101)})
    assert message == "filter.f100: filter has more than 100 conditions"
    # Conditions count across logical operators and inside one operator object.
    assert "filter.$or[1].b.$lt: filter has more than 2 conditions" == error_of(
        {"$or": [{"a": 1}, {"b": {"$gt": 1, "$lt": 5}}]}, max_conditions=2
    )


def test_messages_are_one_line() -> None:
    for spec, _ in ERRORS:
        assert "\n" not in error_of(spec)


# --- the database cases file -------------------------------------------------------------


def test_filter_cases_are_consistent() -> None:
    operators: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key.startswith("$"):
                    operators.add(key)
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for spec, expected in FILTER_CASES:
        assert expected <= FILTER_CORPUS.keys(), spec
        compile_filter(spec, META)
        collect(spec)
    assert operators >= {*FIELD_OPERATORS, "$and", "$or", "$not"}
    assert len({repr(spec) for spec, _ in FILTER_CASES}) == len(FILTER_CASES)


def test_values_that_change_the_sql_change_the_shape() -> None:
    assert shape({"a": {"$exists": True}}) != shape({"a": {"$exists": False}})
    assert shape({"a": {"$gt": "2020"}}) != shape({"a": {"$gt": 2020}})
    assert shape({"a": {"x": 1}}) != shape({"a": 1})
    assert shape({"a": 1, "b": 2}) != shape({"b": 2, "a": 1})
    assert shape({"a": "x", "n": {"$lt": 3}}) == shape({"a": "y", "n": {"$lt": 9}})


def test_same_shape_same_parameter_names() -> None:
    one = compile_filter_params({"a": "x", "n": {"$lt": 3}}, Document.meta.expression)
    two = compile_filter_params({"a": "y", "n": {"$lt": 9}}, Document.meta.expression)
    assert one.params.keys() == two.params.keys()
    assert one.params != two.params
