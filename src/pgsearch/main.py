"""ASGI entry point: `uvicorn pgsearch.main:app`."""

from pgsearch.api.app import create_app

app = create_app()
