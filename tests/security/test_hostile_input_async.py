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

from domain.errors import DomainError, InvalidInput
from domain.model import NewProduct, NewUser
from domain.search import ProductQuery
from domain.validation import build
from services import AsyncCatalogService
from tests.strategies import storable_text

if True:  # ASYNC
    from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
else:
    from adapters.postgres import PostgresUnitOfWorkFactory

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


async def test_every_naughty_string_round_trips_exactly(
    postgres_uow_async: AsyncPostgresUnitOfWorkFactory, clean_database: str
) -> None:
    stored = 0
    refused = 0
    for text in NAUGHTY:
        try:
            new = build(NewProduct, name=text, description=text, price="1.00")
        except InvalidInput:
            refused += 1  # blank or over-long names: refused before any SQL
            continue
        async with postgres_uow_async(autocommit=True) as work:
            product = await work.products.add(new)
        async with postgres_uow_async(read_only=True) as work:
            back = await work.products.get(product.id)
            found = await work.products.search(ProductQuery(text=text[:255], limit=500))
        assert (back.name, back.description) == (text, text)
        assert back.name.encode() == text.encode()
        assert product.id in {p.id for p in found.items}
        stored += 1
    print(f"\nnaughty strings: {stored} stored and found again, {refused} refused as invalid")
    assert stored + refused == len(NAUGHTY)
    assert stored > 450


async def test_naughty_usernames_and_emails_are_refused_or_round_trip(
    postgres_uow_async: AsyncPostgresUnitOfWorkFactory, clean_database: str
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
            async with postgres_uow_async(autocommit=True) as work:
                user = await work.users.add(new)
            async with postgres_uow_async(read_only=True) as work:
                lookup = (
                    work.users.get_by_username if field == "username" else work.users.get_by_email
                )
                assert await lookup(getattr(user, field)) == user
            assert getattr(user, field).encode() == getattr(new, field).encode()
            async with postgres_uow_async(autocommit=True) as work:
                await work.users.delete(user.id)
            stored += 1
    print(f"\nnaughty usernames/emails: {stored} stored and found again, {refused} refused")
    assert stored + refused == 2 * len(NAUGHTY)
    assert stored > 0


async def test_injection_attempts_change_no_table(
    postgres_uow_async: AsyncPostgresUnitOfWorkFactory, clean_database: str
) -> None:
    catalog = AsyncCatalogService(postgres_uow_async)
    before = _fingerprint(clean_database)
    attempts = [t for t in NAUGHTY if any(k in t.upper() for k in ("DROP", "DELETE", "'", ";"))]
    for text in attempts:
        await catalog.search(text)
        async with postgres_uow_async(read_only=True) as work:
            for lookup in (work.users.get_by_username, work.users.get_by_email):
                with pytest.raises(DomainError):
                    await lookup(text)
    assert _fingerprint(clean_database) == before
    print(f"\ninjection attempts: {len(attempts)} strings through search and lookups, 0 changes")


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=storable_text.filter(lambda s: s.strip(" \t\n\r\f\v") != ""))
async def test_generated_strings_round_trip(
    pg_pool_async: object, database_url: str, text: str
) -> None:
    uow = AsyncPostgresUnitOfWorkFactory(pg_pool_async)  # type: ignore[arg-type]
    async with uow() as work:  # rolled back: the session's database stays as it was
        product = await work.products.add(
            NewProduct(name=text[:255], description=text, price=Decimal(1))
        )
        back = await work.products.get(product.id)
        found = await work.products.search(ProductQuery(text=text[:255], limit=500))
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
async def test_bad_input_is_refused_before_sql_and_changes_nothing(
    postgres_uow_async: AsyncPostgresUnitOfWorkFactory,
    clean_database: str,
    field: str,
    value: object,
) -> None:
    catalog = AsyncCatalogService(postgres_uow_async)
    await catalog.create_product("Lamp", "1.00")
    before = _fingerprint(clean_database)
    with pytest.raises(InvalidInput, match=field):
        await catalog.create_product(**{"name": "Desk", "price": "2.00", field: value})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await catalog.import_products(
            [{"name": "Ok", "price": "1.00"}, {"name": "Bad", "price": "1.00", field: value}]
        )
    assert _fingerprint(clean_database) == before


@given(price=st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2))
@settings(max_examples=300, deadline=None)
async def test_money_round_trips_exactly_over_the_full_range(
    pg_pool_async: object, database_url: str, price: Decimal
) -> None:
    uow = AsyncPostgresUnitOfWorkFactory(pg_pool_async)  # type: ignore[arg-type]
    async with uow() as work:
        product = await work.products.add(NewProduct(name="Coin", price=price))
        assert (await work.products.get(product.id)).price == price
        assert str((await work.products.get(product.id)).price) == str(
            price.quantize(Decimal("0.01"))
        )


async def test_nul_bytes_in_a_username_are_refused(
    postgres_uow_async: AsyncPostgresUnitOfWorkFactory, clean_database: str
) -> None:
    before = _fingerprint(clean_database)
    with pytest.raises(InvalidInput, match="username"):
        build(NewUser, username="ali\x00ce", email="a@example.com", password_hash="h")
    assert _fingerprint(clean_database) == before
