"""The search's case rule (Unicode simple case folding, domain.folding) is the same on
databases whose own lower() differs: a C locale that folds ASCII only, ICU, builtin and libc
locales, and Turkish ones where lower('I') is a dotless i (U+0131)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
from psycopg import sql

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.model import NewProduct
from domain.search import ProductQuery
from shopdb.migrations import upgrade
from shopdb.testdb import pool_config, with_database

NAMES = ["İstanbul", "ΟΔΟΣ", "Straße", "École", "Cafe\u0301", "Lamp", "crème", "ÖL", "IRMAK"]
# text -> the names it finds under Unicode simple case folding
EXPECTED = {
    "istanbul": [],
    "İSTANBUL": ["İstanbul"],
    "οδος": ["ΟΔΟΣ"],
    "ΟΔΟΣ": ["ΟΔΟΣ"],
    "strasse": [],
    "STRAẞE": ["Straße"],
    "école": ["École"],
    "ÉCOLE": ["École"],
    "CAFE": ["Cafe\u0301"],
    "LAMP": ["Lamp"],
    "CRÈME": ["crème"],
    "öl": ["ÖL"],
    "irmak": ["IRMAK"],  # I is i, also where the database's own lower() makes it U+0131
    "\u0131rmak": [],
}
# (provider, locale) candidates; those the server lacks are passed over.
LOCALES = [
    ("libc", "C"),
    ("icu", "tr-TR"),
    ("icu", "el-GR"),
    ("builtin", "C.UTF-8"),  # PostgreSQL 17+
    ("libc", "C.UTF-8"),
    ("libc", "en_US.UTF-8"),
    ("libc", "tr_TR.UTF-8"),
]


def _create(admin_url: str, provider: str, locale: str) -> str | None:
    """A database with that locale, or None when the server lacks it."""
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
        except psycopg.Error:
            return None
    return name


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _found(url: str) -> dict[str, list[str]]:
    upgrade(url)
    pool = create_pool(pool_config(conninfo=url, min_size=1, max_size=1))
    try:
        uow = PostgresUnitOfWorkFactory(pool)
        with uow() as work:
            for name in NAMES:
                work.products.add(NewProduct(name=name, price=Decimal(1)))
            work.commit()
        with uow(read_only=True) as work:
            return {
                text: sorted(p.name for p in work.products.search(ProductQuery(text=text)).items)
                for text in EXPECTED
            }
    finally:
        pool.close()


def test_the_case_rule_is_the_same_whatever_the_locale(admin_url: str) -> None:
    """Every candidate locale the server has, those whose own lower() folds ASCII only (C)
    and those that fold far more (ICU on a Debian build, the builtin provider on 17+, libc
    C.UTF-8 everywhere): the same names found for every term."""
    proved = []
    for provider, locale in LOCALES:
        name = _create(admin_url, provider, locale)
        if name is None:
            continue
        try:
            url = with_database(admin_url, name)
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT lower('ÉΟΔ')").fetchone()
            assert _found(url) == {text: sorted(names) for text, names in EXPECTED.items()}
            proved.append(f"{provider} {locale} ({'Unicode' if row == ('éοδ',) else 'ASCII'})")
        finally:
            _drop(admin_url, name)
    print(f"\nThe same names found on databases of locale (their lower()): {', '.join(proved)}")
    assert any("ASCII" in p for p in proved), "no locale folding ASCII only was tried"
    assert any("Unicode" in p for p in proved), "no locale folding beyond ASCII was tried"
