"""The search page: static files from the package at `/ui/`, and `/` pointing to it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

# The page's own files only: no inline script or style, no other origin, no framing. Its
# scripts call the API on the same origin (`connect-src 'self'`).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def root(request: Request) -> RedirectResponse:
    """The search page."""
    return RedirectResponse("ui/")


class _Pages(StaticFiles):
    """Static files with the page's security headers."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(SECURITY_HEADERS)
        return response


def install(app: FastAPI) -> None:
    """Serve the search page at `/ui/` (its files hold no data: the API checks every call)."""
    # A plain route, like the /docs pages: not an API operation (no OpenAPI entry, and none of
    # the API's dependencies, which look the operation up there).
    app.add_route("/", root, include_in_schema=False)
    app.mount("/ui", _Pages(packages=[("pgsearch", "ui")], html=True), name="ui")
