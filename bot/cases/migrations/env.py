"""Alembic environment of the case store, run programmatically by ``bot.cases.db.migrate``.

``config.attributes["connection"]`` carries an open connection (the normal path);
otherwise ``sqlalchemy.url`` is used (``alembic -x`` style use from a shell:
``python -c "from bot.cases.db import migrate; migrate('sqlite:///var/cases.db')"``).
"""
from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.cases.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from bot.cases.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
