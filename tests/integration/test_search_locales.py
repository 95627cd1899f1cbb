"""The search's case rule holds on databases whose own lower() folds far more than ASCII:
ICU, builtin and libc locales where lower('É') is 'é' and Greek capitals fold."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.model import NewProduct
from domain.search import ProductQuery
from shopdb.migrations import upgrade
from tests.harness import pool_config, with_database

NAMES = ["İstanbul", "ΟΔΟΣ", "Straße", "École", "Cafe\u0301", "Lamp"]
# text -> the names it finds under ASCII-only folding
EXPECTED = {
    "istanbul": [],
    "İSTANBUL": ["İstanbul"],
    "οδος": [],
    "ΟΔΟΣ": ["ΟΔΟΣ"],
    "strasse": [],
    "STRAßE": ["Straße"],
    "école": [],
    "ÉCOLE": ["École"],
    "CAFE": ["Cafe\u0301"],
    "LAMP": ["Lamp"],
}
# (provider, locale) candidates; those the server lacks are skipped.
LOCALES = [
    ("icu", "tr-TR"),
    ("icu", "el-GR"),
    ("builtin", "C.UTF-8"),  # PostgreSQL 17+
    ("libc", "C.UTF-8"),
    ("libc", "en_US.UTF-8"),
    ("libc", "tr_TR.UTF-8"),
]


@pytest.fixture(params=LOCALES, ids=lambda p: f"{p[0]}-{p[1]}")
def localized_url(admin_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    provider, locale = request.param
    name = f"shopdb_locale_{uuid.uuid4().hex[:12]}"
    options = {
        "icu": sql.SQL("LOCALE_PROVIDER icu ICU_LOCALE {} LOCALE 'C'"),
        "builtin": sql.SQL("LOCALE_PROVIDER builtin BUILTIN_LOCALE {} LOCALE 'C'"),
        "libc": sql.SQL("LOCALE_PROVIDER libc LOCALE {}"),
    }[provider].format(sql.Literal(locale))
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' {}").format(
        sql.Identifier(name), options
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            pytest.skip(f"the server has no {provider} locale {locale}: {exc}".splitlines()[0])
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_only_ascii_letters_fold_whatever_the_locale(localized_url: str) -> None:
    with psycopg.connect(localized_url) as conn:
        folded = conn.execute("SELECT lower('ÉΟΔ')").fetchone()
    if folded != ("éοδ",):
        pytest.skip("this locale folds ASCII letters only: ILIKE would agree, nothing to prove")
    upgrade(localized_url)
    pool = create_pool(pool_config(conninfo=localized_url, min_size=1, max_size=1))
    try:
        uow = PostgresUnitOfWorkFactory(pool)
        with uow() as work:
            for name in NAMES:
                work.products.add(NewProduct(name=name, price=Decimal(1)))
            work.commit()
        with uow(read_only=True) as work:
            found = {
                text: sorted(p.name for p in work.products.search(ProductQuery(text=text)).items)
                for text in EXPECTED
            }
    finally:
        pool.close()
    assert found == {text: sorted(names) for text, names in EXPECTED.items()}
