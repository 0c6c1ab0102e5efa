"""The app's routes: which database session each one takes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from pgsearch.api.deps import db_session, read_connection, read_session
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
        kinds = calls & {db_session, read_session, read_connection}
        # Two would hold two pooled connections for one request.
        assert len(kinds) <= 1, route.path
        reads_only = route.methods == {"GET"} or route.path.endswith(
            ("/search", "/lookup", "/embeddings")
        )
        if kinds:
            assert kinds <= ({read_session, read_connection} if reads_only else {db_session}), (
                route.path,
                route.methods,
            )
            reads += reads_only
            writes += not reads_only
    assert reads >= 6 and writes >= 8
    # The search runs on the event loop: no session (api/routes/search.py).
    (searching,) = [r for r in search.router.routes if isinstance(r, APIRoute)]
    assert read_connection in set(_calls(searching.dependant))


def test_unknown_query_parameters_checked_on_routes_left_out_of_openapi() -> None:
    from fastapi.testclient import TestClient

    from pgsearch.api.app import create_app

    app = create_app()
    app.add_api_route("/hidden", lambda: {"ok": True}, include_in_schema=False)
    client = TestClient(app)  # no `with`: no lifespan, no database
    response = client.get("/hidden", params={"x": "1"})
    assert response.status_code == 422
    assert "unknown query parameter(s) 'x'" in response.json()["detail"]
    assert client.get("/hidden").json() == {"ok": True}
