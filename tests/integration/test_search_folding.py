"""PostgreSQL folds names exactly as the domain does (migration 0010's search_fold against
domain.folding): on every character of the Basic Multilingual Plane, on every character beyond
it that has a case, and on generated text; and it stores the folded name whoever writes the
row, the adapter or a raw COPY."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.folding import fold
from tests.strategies import CASE_TRAPS

CHUNK = 2_048


@pytest.fixture(scope="module")
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def _folded(conn: psycopg.Connection[Any], texts: list[str]) -> list[str]:
    rows = conn.execute("SELECT search_fold(t) FROM unnest(%s::text[]) AS t", (texts,)).fetchall()
    return [row[0] for row in rows]


def _cased(point: int) -> bool:
    character = chr(point)
    return character.casefold() != character or character.lower() != character


def test_the_database_folds_every_character_as_the_domain(
    conn: psycopg.Connection[Any],
) -> None:
    points = [p for p in range(1, 0x10000) if not 0xD800 <= p <= 0xDFFF]
    points += [p for p in range(0x10000, sys.maxunicode + 1) if _cased(p)]
    texts = ["".join(map(chr, points[i : i + CHUNK])) for i in range(0, len(points), CHUNK)]
    differing = [
        (hex(ord(mine)), hex(ord(theirs)))
        for text, folded in zip(texts, _folded(conn, texts), strict=True)
        for mine, theirs in zip(fold(text), folded, strict=True)
        if mine != theirs
    ]
    assert len(points) > 63_000
    assert differing == []


storable = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
    | st.sampled_from("".join(CASE_TRAPS)),
    max_size=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(storable, min_size=1, max_size=20))
def test_generated_text_folds_alike(conn: psycopg.Connection[Any], texts: list[str]) -> None:
    assert _folded(conn, texts) == [fold(text) for text in texts]


def test_the_stored_folding_follows_every_write(clean_database: str) -> None:
    names = ["CRÈME", "Öl", "ΟΔΟΣ", "STRAẞE", "İstanbul", "Lamp"]
    with psycopg.connect(clean_database, autocommit=True) as connection:
        with connection.cursor().copy("COPY products (name, price) FROM STDIN") as copy:
            for name in names:
                copy.write_row((name, Decimal(1)))
        connection.execute("UPDATE products SET name = upper(name) WHERE name = 'Lamp'")
        rows = connection.execute("SELECT name, name_folded FROM products ORDER BY id").fetchall()
    assert [folded for _, folded in rows] == [fold(name) for name, _ in rows]
    assert rows[-1] == ("LAMP", "lamp")
