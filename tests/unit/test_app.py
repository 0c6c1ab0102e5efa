"""The app's routes: which database session each one takes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from pgsearch.api.deps import db_session, read_session
from pgsearch.api.routes import documents, embeddings, health, keys, search, users


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def test_each_route_takes_one_kind_of_session() -> None:
    reads = writes = 0
    routers = (
        documents.router,
        embeddings.router,
        health.router,
        keys.router,
        search.router,
        users.router,
    )
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        calls = set(_calls(route.dependant))
        # Both would hold two pooled connections for one request.
        assert not {db_session, read_session} <= calls, route.path
        # POSTs whose body is a question, not a change.
        reads_only = route.methods == {"GET"} or route.path.endswith(
            ("/search", "/lookup", "/embeddings")
        )
        if read_session in calls or db_session in calls:
            expected = read_session if reads_only else db_session
            assert expected in calls, (route.path, route.methods)
            reads += reads_only
            writes += not reads_only
    assert reads >= 6 and writes >= 8
