"""A throwaway database for a benchmark, so a run never touches the DATABASE_URL's own database.

With a PostgreSQL ``DATABASE_URL`` the benchmark gets a fresh database of its own name on that server
(dropped first if a crashed run left one, and dropped at the end); otherwise a SQLite file in a
temporary folder (removed at the end). Call before ``django.setup()``: it rewrites ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

_POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def use_throwaway_database(name: str) -> tuple[str, Callable[[], None]]:
    """Point DATABASE_URL at a new database called ``name``; the engine's vendor and a clean-up."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(_POSTGRES_SCHEMES):
        import psycopg

        url = url.replace("pgsql://", "postgresql://", 1)
        maintenance = _with_database(url, "postgres")
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = _with_database(url, name)

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        return "postgresql", drop
    folder = tempfile.mkdtemp(prefix=f"{name}-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["KOL_VAR_DIR"] = folder

    def remove() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    return "sqlite", remove
