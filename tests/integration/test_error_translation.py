"""Driver errors map to domain errors only by what their SQLSTATE always means."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from adapters.postgres.errors import translate
from domain.errors import ServerOutOfResources, StorageUnavailable


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


@pytest.mark.parametrize(
    ("condition", "kind", "resource", "said"),
    [
        ("disk_full", errors.DiskFull, "disk", "disk is full"),
        ("out_of_memory", errors.OutOfMemory, "memory", "ran out of memory"),
        ("too_many_connections", errors.TooManyConnections, "connections", "no connection slot"),
        (
            "configuration_limit_exceeded",
            errors.ConfigurationLimitExceeded,
            "configured limit",
            "limit set in the server's configuration",
        ),
        ("insufficient_resources", errors.InsufficientResources, "resources", "lacks resources"),
    ],
)
def test_a_server_short_of_a_resource_says_which_not_that_it_was_unreachable(
    clean_database: str, condition: str, kind: type[psycopg.Error], resource: str, said: str
) -> None:
    """SQLSTATE class 53: the server answered. The error raised by the server itself, with the
    condition's code, as it would come from a full disk or an exhausted memory."""
    exc = _raised(
        clean_database,
        f"DO $$ BEGIN RAISE EXCEPTION 'from the server' USING ERRCODE = '{condition}'; END $$",
    )
    assert isinstance(exc, kind)
    translated = translate(exc, {})
    print(f"\n{exc.sqlstate}: {translated}")
    assert isinstance(translated, ServerOutOfResources)
    assert isinstance(translated, StorageUnavailable)  # callers that catch it still do
    assert translated.resource == resource
    assert said in str(translated)
    assert f"SQLSTATE {exc.sqlstate}" in str(translated)
    assert "from the server" in str(translated)  # the server's own reason
    assert "reached" not in str(translated)
    assert "in time" not in str(translated)


def test_a_spill_past_temp_file_limit_names_the_configured_limit(clean_database: str) -> None:
    """A real 53400: a sort that spills more than temp_file_limit allows."""
    with psycopg.connect(clean_database) as conn:
        conn.execute("SET work_mem = '64kB'")
        conn.execute("SET temp_file_limit = '64kB'")
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC")
    translated = translate(info.value, {})
    print(f"\ntemp_file_limit: {translated}")
    assert isinstance(translated, ServerOutOfResources)
    assert translated.resource == "configured limit"
    assert "temp_file_limit" in str(translated)
