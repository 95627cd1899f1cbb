# Generated from test_hostile_input_async.py (tools/generate_sync.py): edit that instead.
"""Hostile input through every text field, on PostgreSQL: stored byte for byte, found again by
exact lookups, never executed; bad input refused with nothing changed."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.postgres import PostgresUnitOfWorkFactory
from domain.errors import DomainError, InvalidInput
from domain.model import NewProduct, NewUser
from domain.search import ProductQuery
from domain.validation import build
from services import CatalogService
from tests.strategies import storable_text

NAUGHTY: list[str] = json.loads((Path(__file__).parent / "data" / "blns.json").read_text())


def _fingerprint(url: str) -> str:
    """Every row of every table: equal fingerprints mean nothing changed."""
    with psycopg.connect(url) as conn:
        rows = [
            conn.execute(
                f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
            ).fetchone()
            for table in ("users", "products", "carts", "cart_items")
        ]
        tables = conn.execute(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables"
            " WHERE schemaname = 'public'"
        ).fetchone()
    return hashlib.sha256(repr((rows, tables)).encode()).hexdigest()


def test_every_naughty_string_round_trips_exactly(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    stored = 0
    refused = 0
    for text in NAUGHTY:
        try:
            new = build(NewProduct, name=text, description=text, price="1.00")
        except InvalidInput:
            refused += 1  # blank or over-long names: refused before any SQL
            continue
        with postgres_uow(autocommit=True) as work:
            product = work.products.add(new)
        with postgres_uow(read_only=True) as work:
            back = work.products.get(product.id)
            found = work.products.search(ProductQuery(text=text[:255], limit=500))
        assert (back.name, back.description) == (text, text)
        assert back.name.encode() == text.encode()
        assert product.id in {p.id for p in found.items}
        stored += 1
    print(f"\nnaughty strings: {stored} stored and found again, {refused} refused as invalid")
    assert stored + refused == len(NAUGHTY)
    assert stored > 450


def test_naughty_usernames_and_emails_are_refused_or_round_trip(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    stored = refused = 0
    for n, text in enumerate(NAUGHTY):
        for field, values in (
            ("username", {"username": text, "email": f"user{n}@example.com"}),
            ("email", {"username": f"user{n}", "email": text}),
        ):
            before = _fingerprint(clean_database)
            try:
                new = build(NewUser, password_hash="h", **values)
            except InvalidInput:
                refused += 1
                assert _fingerprint(clean_database) == before
                continue
            with postgres_uow(autocommit=True) as work:
                user = work.users.add(new)
            with postgres_uow(read_only=True) as work:
                lookup = (
                    work.users.get_by_username if field == "username" else work.users.get_by_email
                )
                assert lookup(getattr(user, field)) == user
            assert getattr(user, field).encode() == getattr(new, field).encode()
            with postgres_uow(autocommit=True) as work:
                work.users.delete(user.id)
            stored += 1
    print(f"\nnaughty usernames/emails: {stored} stored and found again, {refused} refused")
    assert stored + refused == 2 * len(NAUGHTY)
    assert stored > 0


def test_injection_attempts_change_no_table(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    catalog = CatalogService(postgres_uow)
    before = _fingerprint(clean_database)
    attempts = [t for t in NAUGHTY if any(k in t.upper() for k in ("DROP", "DELETE", "'", ";"))]
    for text in attempts:
        catalog.search(text)
        with postgres_uow(read_only=True) as work:
            for lookup in (work.users.get_by_username, work.users.get_by_email):
                with pytest.raises(DomainError):
                    lookup(text)
    assert _fingerprint(clean_database) == before
    print(f"\ninjection attempts: {len(attempts)} strings through search and lookups, 0 changes")


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=storable_text.filter(lambda s: s.strip(" \t\n\r\f\v") != ""))
def test_generated_strings_round_trip(pg_pool: object, database_url: str, text: str) -> None:
    uow = PostgresUnitOfWorkFactory(pg_pool)  # type: ignore[arg-type]
    with uow() as work:  # rolled back: the session's database stays as it was
        product = work.products.add(NewProduct(name=text[:255], description=text, price=Decimal(1)))
        back = work.products.get(product.id)
        found = work.products.search(ProductQuery(text=text[:255], limit=500))
    assert (back.name, back.description) == (text[:255], text)
    assert product.id in {p.id for p in found.items}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Lamp\x00"),
        ("description", "a\x00b"),
        ("price", "1.001"),
        ("price", "NaN"),
        ("price", "Infinity"),
        ("price", "-Infinity"),
        ("price", "-0.01"),
        ("price", "100000000.00"),
        ("inventory_count", -1),
    ],
)
def test_bad_input_is_refused_before_sql_and_changes_nothing(
    postgres_uow: PostgresUnitOfWorkFactory,
    clean_database: str,
    field: str,
    value: object,
) -> None:
    catalog = CatalogService(postgres_uow)
    catalog.create_product("Lamp", "1.00")
    before = _fingerprint(clean_database)
    with pytest.raises(InvalidInput, match=field):
        catalog.create_product(**{"name": "Desk", "price": "2.00", field: value})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        catalog.import_products(
            [{"name": "Ok", "price": "1.00"}, {"name": "Bad", "price": "1.00", field: value}]
        )
    assert _fingerprint(clean_database) == before


@given(price=st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2))
@settings(max_examples=300, deadline=None)
def test_money_round_trips_exactly_over_the_full_range(
    pg_pool: object, database_url: str, price: Decimal
) -> None:
    uow = PostgresUnitOfWorkFactory(pg_pool)  # type: ignore[arg-type]
    with uow() as work:
        product = work.products.add(NewProduct(name="Coin", price=price))
        assert work.products.get(product.id).price == price
        assert str(work.products.get(product.id).price) == str(price.quantize(Decimal("0.01")))


def test_nul_bytes_in_a_username_are_refused(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    before = _fingerprint(clean_database)
    with pytest.raises(InvalidInput, match="username"):
        build(NewUser, username="ali\x00ce", email="a@example.com", password_hash="h")
    assert _fingerprint(clean_database) == before
