"""The one startup routine, used by the app's lifespan and by every CLI command."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pgsearch import db
from pgsearch.embedding import Embedder
from pgsearch.errors import Unavailable
from pgsearch.search import bm25
from pgsearch.search.bm25 import Bm25Params
from pgsearch.services.index import check_model


def prepare_database(
    *,
    migrate: bool = True,
    embedder: Embedder | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> None:
    """Check the configured database answers, migrate it to the newest schema (when `migrate`),
    and record or check the embedding model (when `embedder` is given).

    The embedded server, when configured, must be running (`embedded.database_running`).
    Raises a `PgsearchError` that says what is wrong.
    """
    config = db.get_config()
    try:
        with db.get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise Unavailable(
            f"cannot connect to {config.describe_target()}: {db.short_error(exc)}"
        ) from exc
    if migrate:
        db.init_database(echo=say)
        if embedder is not None:
            with db.get_sessionmaker().begin() as session:
                check_model(session, embedder)
        # Impacts made with another PGSEARCH_BM25_K1 / _B only pick candidates less well
        # (scores stay exact), but the top k could no longer be certified: re-make them once.
        with db.get_sessionmaker().begin() as session:
            bm25.refresh_all_impacts(session, Bm25Params.from_settings())
