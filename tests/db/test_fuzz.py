"""Property-based fuzzing of the whole OpenAPI schema (schemathesis) against the real database,
with authentication on (the production setting)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from pgsearch.api.app import create_app
from pgsearch.config import DatabaseConfig

ADMIN = "fuzz-admin-key-0123456789"

# Building the app does no I/O; requests reach the test database once `pg_config` has started it.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@schema.auth()
class AdminKey:
    """The admin key, set by schemathesis itself: a case that drops the header on purpose (to
    expect a 401) is then sent without it, where a header passed to the call would put it back
    and make the API look like it accepts requests without a key."""

    def get(self, case: schemathesis.Case[Any], ctx: schemathesis.AuthContext) -> str:
        return ADMIN

    def set(self, case: schemathesis.Case[Any], data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


@pytest.fixture
def auth_on(pg_config: DatabaseConfig, settings_env: Callable[..., None]) -> None:
    settings_env(PGSEARCH_ADMIN_KEY=ADMIN)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case: schemathesis.Case[Any], auth_on: None) -> None:
    # Every default check: no 5xx, documented status codes and content types, bodies matching
    # their schemas, schema-invalid input rejected, and invalid credentials refused.
    response = case.call_and_validate()
    if case.headers.get("Authorization") == f"Bearer {ADMIN}":
        assert response.status_code != 401, "the admin key was refused"
