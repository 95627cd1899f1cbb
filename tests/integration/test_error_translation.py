"""Driver errors map to domain errors only by what their SQLSTATE always means."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from adapters.postgres.errors import translate
from domain.errors import StorageUnavailable


def _raised(url: str, statement: str) -> psycopg.Error:
    with psycopg.connect(url) as conn, pytest.raises(psycopg.Error) as info:
        conn.execute(statement)
    return info.value


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("SELECT id FROM products WHERE id = true", errors.UndefinedFunction),
        ("SELECT no_such_function(1)", errors.UndefinedFunction),
    ],
)
def test_an_undefined_function_is_a_database_error_with_its_cause(
    clean_database: str, statement: str, kind: type[psycopg.Error]
) -> None:
    """42883 also means an operator applied to the wrong type: not a schema out of date."""
    exc = _raised(clean_database, statement)
    assert isinstance(exc, kind)
    translated = translate(exc, {})
    assert type(translated) is StorageUnavailable
    assert "schema" not in str(translated)
    assert "migrate" not in str(translated)
    assert str(translated).startswith("database error 42883: ")
    assert "does not exist" in str(translated)  # the real cause, from the server


@pytest.mark.parametrize(
    "statement", ["SELECT 1 FROM no_such_table", "SELECT no_such_column FROM products"]
)
def test_a_missing_table_or_column_asks_for_a_migration(
    clean_database: str, statement: str
) -> None:
    translated = translate(_raised(clean_database, statement), {})
    assert type(translated) is StorageUnavailable
    assert "run `shopdb migrate`" in str(translated)
