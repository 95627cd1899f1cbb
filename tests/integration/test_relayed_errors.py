"""A constraint's error means the same when a Citus coordinator relays it from a worker: no
constraint name, the shard's name in the message (`<name>_<shard id>`), sometimes SQLSTATE
XX000, and the message in the worker's lc_messages. The contract suite proves it on a real
cluster (.ci/citus); here every mapped constraint, in every such shape, in several languages.

The server raises each error itself (RAISE with the message and SQLSTATE a worker would send,
and no constraint name): the machine has no locale but C, so no server here can be switched
to another language, but the message is text the adapter reads either way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from adapters.postgres.constraints import BY_CONSTRAINT, UNMAPPED
from adapters.postgres.errors import ErrorContext, translate
from domain.errors import InvalidInput, StorageUnavailable

RAISE_AS = """
CREATE FUNCTION pg_temp.raise_as(code text, message text, name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
    END IF;
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, CONSTRAINT = name;
END
$$
"""
# How each kind of violation reads, with the constraint's name where the server puts it: the
# server's own English, and its French, German and Japanese catalogs (their quotation marks).
MESSAGES = {
    "23505": (
        'duplicate key value violates unique constraint "{}"',
        "la valeur d'une clé dupliquée rompt la contrainte unique « {} »",
        "doppelter Schlüsselwert verletzt Unique-Constraint »{}«",
        '重複したキー値は一意性制約"{}"違反となります',
    ),
    "23503": (
        'insert or update on table "cart_items_102074" violates foreign key constraint "{}"',
        "une instruction insert ou update sur la table « cart_items_102074 » viole la"
        " contrainte de clé étrangère « {} »",
        "Einfügen oder Aktualisieren in Tabelle »cart_items_102074« verletzt"
        " Fremdschlüssel-Constraint »{}«",
        'テーブル"cart_items_102074"への挿入、更新は外部キー制約"{}"に違反しています',
    ),
    "23514": (
        "{}: cart 7 already holds 1000 lines",  # 0011's trigger: its own text, any language
        "la nouvelle ligne de la relation « orders_102080 » viole la contrainte de vérification"
        " « {} »",
        "neue Zeile für Relation »orders_102080« verletzt Check-Constraint »{}«",
        'リレーション"orders_102080"の新しい行は検査制約"{}"に違反しています',
    ),
}
CODES = {"unique": "23505", "foreign": "23503", "check": "23514"}
CONTEXT: ErrorContext = {
    "username": "alice",
    "email": "alice@example.com",
    "user_id": 7,
    "cart_id": 8,
    "product_id": 9,
    "field": "quantity",
}


def _code(name: str) -> str:
    if name.endswith("_fkey"):
        return CODES["foreign"]
    if name.endswith("_check"):
        return CODES["check"]
    return CODES["unique"]


@pytest.fixture(scope="module")
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(RAISE_AS)
        yield connection


def _raised(conn: psycopg.Connection[Any], code: str, message: str, name: str | None) -> Any:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT pg_temp.raise_as(%s, %s, %s)", (code, message, name))
    return info.value


def _as_server_says(error: object) -> tuple[type, str]:
    return type(error), str(error)


@pytest.mark.parametrize("name", sorted(BY_CONSTRAINT))
@pytest.mark.parametrize("language", range(4), ids=["en", "fr", "de", "ja"])
@pytest.mark.parametrize("relayed_as", ["own", "XX000"])
def test_every_mapped_constraint_relayed_by_a_coordinator_means_the_same(
    conn: psycopg.Connection[Any], name: str, language: int, relayed_as: str
) -> None:
    code = _code(name)
    direct = _raised(conn, code, MESSAGES[code][0].format(name), name)
    assert direct.diag.constraint_name == name
    message = MESSAGES[code][language].format(f"{name}_102231")
    relayed = _raised(conn, code if relayed_as == "own" else "XX000", message, None)
    assert relayed.diag.constraint_name is None
    assert _as_server_says(translate(relayed, CONTEXT, BY_CONSTRAINT)) == _as_server_says(
        translate(direct, CONTEXT, BY_CONSTRAINT)
    )


@pytest.mark.parametrize("language", range(4), ids=["en", "fr", "de", "ja"])
def test_an_unmapped_check_relayed_as_xx000_is_still_invalid_input(
    conn: psycopg.Connection[Any], language: int
) -> None:
    name = "orders_total_non_negative_check"
    assert name in UNMAPPED
    relayed = _raised(conn, "XX000", MESSAGES["23514"][language].format(f"{name}_102080"), None)
    translated = translate(relayed, CONTEXT, BY_CONSTRAINT)
    assert type(translated) is InvalidInput
    assert str(translated).endswith(f"violates the rule {name}")


def test_only_integrity_errors_and_xx000_are_read_for_a_name(
    conn: psycopg.Connection[Any],
) -> None:
    # A value echoed in another error's message is never taken for a constraint.
    echoed = _raised(
        conn, "22P02", 'invalid input syntax for type bigint: "users_email_lower_key"', None
    )
    assert type(translate(echoed, CONTEXT, BY_CONSTRAINT)) is InvalidInput
    # Nor a word that merely begins like one.
    other = _raised(
        conn,
        "XX000",
        'duplicate key value violates unique constraint "users_email_lower_keys"',
        None,
    )
    assert type(translate(other, CONTEXT, BY_CONSTRAINT)) is StorageUnavailable
