# Generated from test_hostile_everywhere_async.py (tools/generate_sync.py): edit that instead.
"""Wrong types and extreme values through every public entry point, on both adapters: the
services, every repository method through a unit of work, cursors and settings. Only domain
errors escape (SettingsError from settings), and a refused call changes no stored data."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import ConnectionPool

from adapters.memory import MemoryUnitOfWorkFactory
from adapters.postgres import PostgresUnitOfWorkFactory, ShopdbPool
from domain.errors import DomainError
from domain.history import encode_order_cursor
from domain.messages import MESSAGE_MAX, SHOWN_MAX
from domain.model import NewProduct, NewUser, ProductChanges
from domain.search import ProductQuery, ProductSort, encode_cursor
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from services import AccountService, CartService, CatalogService, OrderService
from shopdb.settings import Settings, SettingsError, load_settings
from shopdb.testdb import truncate_all
from shopdb.testing import InsecureTestHasher

EXAMPLES = 25
MEGABYTE = "x" * 1_000_000
# Text that forges log lines or repaints a terminal if a message repeats it raw or whole.
FORGING = [
    "x" * 10_000 + "\n\x1b[31mERROR forged line\r\n",
    "alice\nINFO login ok",
    "\x1b]0;title\x07\x1b[2J",
    "\u202eevil",
    "a\u2028b\x85c",
]
forging_text = st.sampled_from(FORGING) | st.text(
    st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Cs")), min_size=1, max_size=12
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


HOSTILE_CURSORS = [
    _b64(b"[" * 100_000),
    _b64(b'["name",' + b"[" * 2_000 + b"]" * 2_000 + b",1]"),
    _b64(b'["name","Lamp",true]'),
    _b64(b'["name","La\\ud800mp",1]'),
    _b64(b'["name","La\\u0000mp",1]'),
    _b64(b'["price","1e26",1]'),
    _b64(b'["price","NaN",1]'),
    _b64(b'["newest","2026-01-01T00:00:00",1]'),
    _b64(b'{"a":1,"b":2,"c":3}'),
    "[" * 133_000,
    "\ud800",
]

hostile: st.SearchStrategy[Any] = st.one_of(
    st.booleans(),
    st.none(),
    st.sampled_from([0, -1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**27, 10**100]),
    st.integers(min_value=2**62, max_value=2**80),
    st.floats(),  # NaN and both infinities included
    st.sampled_from(
        [
            *(Decimal(v) for v in ("NaN", "sNaN", "Infinity", "-Infinity", "1e26", "-0")),
            Decimal("1E-999999"),
            Decimal(10**27),
        ]
    ),
    st.sampled_from(
        [
            *("", "\x00", "a\x00b", "\ud800", "x\udfffy", MEGABYTE, "1e26", "9" * 40, "NaN"),
            *("-Infinity", "true", "\u0130", "\u03c2", "\u00df", "émil@bücher.de", "%", "_"),
            *("\\", "'; DROP TABLE users; --", "emil@b\udcfccher.de", "a@" + "b" * 300 + ".de"),
            *HOSTILE_CURSORS,
            *FORGING,
        ]
    ),
    st.text(st.characters(categories=("Cs", "Cc", "Lu", "Ll", "Mn")), max_size=12),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
)


def h(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid value or a hostile one, so each argument is tried alone and in company."""
    return st.one_of(valid, hostile, forging_text)


ids = h(st.sampled_from([1, 2, 99]))
missing_ids = h(st.just(99))  # for deletes: keep the shop's rows for the next examples
quantities = h(st.integers(1, 3))
prices = h(st.sampled_from(["1.00", Decimal("2.50"), 3]))
names = h(st.sampled_from(["Desk", "İstanbul"]))
emails = h(st.sampled_from(["carol@example.com", "emil@bücher.de", "EMIL@BÜCHER.DE"]))
texts = h(st.sampled_from(["lamp", "İ", "%"]))
sorts = h(st.sampled_from(list(ProductSort)))
cursors = h(st.sampled_from([encode_cursor(ProductSort.NAME, "Lamp", 1)]))
order_cursors = h(st.sampled_from([None, encode_order_cursor(2)]))
keys = h(st.sampled_from(["key-1", "key-2"]))
changes = st.dictionaries(
    st.sampled_from(["name", "price", "description", "bogus"]) | forging_text, hostile
)
rows = h(
    st.lists(
        st.fixed_dictionaries({"name": names, "price": prices})
        | st.dictionaries(forging_text, hostile, min_size=1, max_size=3),
        max_size=3,
    )
)
entities = h(
    st.sampled_from(
        [
            NewUser(username="dave", email="dave@example.com", password_hash="h"),
            NewProduct(name="Rug", price=Decimal(1)),
            ProductChanges(name="Moved"),
            ProductQuery(text="lamp"),
        ]
    )
)


class Shop:
    """The services over one adapter, and a fingerprint of everything it stores."""

    def __init__(self, uow: UnitOfWorkFactory, fingerprint: Callable[[], object]) -> None:
        hasher = InsecureTestHasher()
        self.uow = uow
        self.accounts = AccountService(uow, hasher)
        self.catalog = CatalogService(uow)
        self.carts = CartService(uow)
        self.orders = OrderService(uow)
        self.fingerprint = fingerprint

    def stock(self) -> None:
        self.accounts.register("alice", "alice@example.com", "a long password")
        self.accounts.register("emil", "emil@bücher.de", "a long password")
        self.catalog.create_product("Lamp", "19.99", "Bright", 50)
        self.catalog.create_product("Desk lamp", "99.00", None, 50)
        self.carts.add_to_cart(1, 1, 2)

    def in_unit_of_work(self, action: Callable[[UnitOfWork], object]) -> object:
        with self.uow() as work:
            result = action(work)
            work.commit()
        return result


def _memory_fingerprint(uow: MemoryUnitOfWorkFactory) -> Callable[[], object]:
    def fingerprint() -> object:
        with uow(read_only=True) as work:
            users = []
            for user_id in range(1, 500):
                with contextlib.suppress(DomainError):
                    users.append(work.users.get(user_id))
            products = work.products.get_many(range(1, 500))
            carts = [work.carts.find_for_user(user_id) for user_id in range(1, 500)]
            orders = [work.orders.list_for_user(user_id, limit=100) for user_id in range(1, 5)]
        return users, products, carts, orders

    return fingerprint


def _postgres_fingerprint(pool: ConnectionPool[Any]) -> Callable[[], object]:
    def fingerprint() -> object:
        with pool.connection() as conn:
            rows = [
                conn.execute(
                    f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
                ).fetchone()
                for table in ("users", "products", "carts", "cart_items", "orders", "order_lines")
            ]
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    return fingerprint


@pytest.fixture(scope="module", params=["memory", "postgres"])
def adapter(
    request: pytest.FixtureRequest,
) -> tuple[UnitOfWorkFactory, Callable[[], object]]:
    """A unit of work factory of each adapter for the whole module, and a fingerprint of what
    it stores, the database emptied first. A plain fixture, so that it can take the database's
    fixtures: pytest-asyncio cannot set one up from inside a running event loop."""
    if request.param == "memory":
        memory = MemoryUnitOfWorkFactory()
        return memory, _memory_fingerprint(memory)
    pool: ShopdbPool = request.getfixturevalue("pg_pool")
    with psycopg.connect(request.getfixturevalue("database_url"), autocommit=True) as conn:
        truncate_all(conn)
    return PostgresUnitOfWorkFactory(pool), _postgres_fingerprint(pool)


@pytest.fixture(scope="module")
def shop(adapter: tuple[UnitOfWorkFactory, Callable[[], object]]) -> Shop:
    """One stocked shop per adapter for the whole module: examples share it, so none of them
    opens a function-scoped database fixture."""
    built = Shop(*adapter)
    built.stock()
    return built


# Any, not object: where the calls are awaited, mypy cannot type these lambdas against an
# awaitable result spelled with a ParamSpec alias.
Entry = tuple[Callable[..., Any], tuple[st.SearchStrategy[Any], ...]]

ENTRIES: dict[str, Entry] = {
    # services
    "accounts.register": (
        lambda s, u, e, p: s.accounts.register(u, e, p),
        (h(st.just("carol")), emails, h(st.just("a long password"))),
    ),
    "accounts.authenticate": (
        lambda s, login, p: s.accounts.authenticate(login, p),
        (h(st.sampled_from(["alice", "emil@bücher.de"])), h(st.just("a long password"))),
    ),
    "accounts.change_email": (lambda s, i, e: s.accounts.change_email(i, e), (ids, emails)),
    "accounts.delete_user": (lambda s, i: s.accounts.delete_user(i), (missing_ids,)),
    "catalog.create_product": (
        lambda s, n, p, d, i: s.catalog.create_product(n, p, d, i),
        (names, prices, h(st.none()), h(st.integers(0, 5))),
    ),
    "catalog.import_products": (lambda s, r: s.catalog.import_products(r), (rows,)),
    "catalog.get_product": (lambda s, i: s.catalog.get_product(i), (ids,)),
    "catalog.update_product": (
        lambda s, i, v, c: s.catalog.update_product(i, v, **c),
        (ids, h(st.just(1)), changes),
    ),
    "catalog.restock": (lambda s, i, q: s.catalog.restock(i, q), (ids, quantities)),
    "catalog.delete_product": (lambda s, i: s.catalog.delete_product(i), (missing_ids,)),
    "catalog.search": (
        lambda s, t, lo, hi, stock, sort, limit, c: s.catalog.search(
            t, min_price=lo, max_price=hi, in_stock_only=stock, sort=sort, limit=limit, cursor=c
        ),
        (texts, prices, h(st.none()), h(st.booleans()), sorts, h(st.just(5)), cursors),
    ),
    "carts.add_to_cart": (lambda s, u, p, q: s.carts.add_to_cart(u, p, q), (ids, ids, quantities)),
    "carts.change_quantity": (
        lambda s, u, p, q: s.carts.change_quantity(u, p, q),
        (ids, ids, quantities),
    ),
    "carts.remove_from_cart": (lambda s, u, p: s.carts.remove_from_cart(u, p), (ids, ids)),
    "carts.view_cart": (lambda s, u: s.carts.view_cart(u), (ids,)),
    "carts.checkout": (lambda s, u, k: s.carts.checkout(u, k), (ids, keys)),
    "orders.get_order": (lambda s, u, o: s.orders.get_order(u, o), (ids, ids)),
    "orders.order_history": (
        lambda s, u, limit, c: s.orders.order_history(u, limit=limit, cursor=c),
        (ids, h(st.just(5)), order_cursors),
    ),
    # repositories, through a unit of work
    "users.add": (lambda s, e: s.in_unit_of_work(lambda w: w.users.add(e)), (entities,)),
    "users.get": (lambda s, i: s.in_unit_of_work(lambda w: w.users.get(i)), (ids,)),
    "users.get_by_username": (
        lambda s, n: s.in_unit_of_work(lambda w: w.users.get_by_username(n)),
        (h(st.just("ALICE")),),
    ),
    "users.get_by_email": (
        lambda s, e: s.in_unit_of_work(lambda w: w.users.get_by_email(e)),
        (emails,),
    ),
    "users.change_email": (
        lambda s, i, e: s.in_unit_of_work(lambda w: w.users.change_email(i, e)),
        (ids, emails),
    ),
    "users.delete": (lambda s, i: s.in_unit_of_work(lambda w: w.users.delete(i)), (missing_ids,)),
    "products.add": (lambda s, e: s.in_unit_of_work(lambda w: w.products.add(e)), (entities,)),
    "products.add_many": (
        lambda s, r: s.in_unit_of_work(lambda w: w.products.add_many(r)),
        (h(st.lists(entities, max_size=3)),),
    ),
    "products.get": (lambda s, i: s.in_unit_of_work(lambda w: w.products.get(i)), (ids,)),
    "products.get_many": (
        lambda s, i: s.in_unit_of_work(lambda w: w.products.get_many(i)),
        (h(st.lists(ids, max_size=3)),),
    ),
    "products.update": (
        lambda s, i, v, c: s.in_unit_of_work(lambda w: w.products.update(i, v, c)),
        (ids, h(st.just(1)), entities),
    ),
    "products.delete": (
        lambda s, i: s.in_unit_of_work(lambda w: w.products.delete(i)),
        (missing_ids,),
    ),
    "products.restock": (
        lambda s, i, q: s.in_unit_of_work(lambda w: w.products.restock(i, q)),
        (ids, quantities),
    ),
    "products.reserve": (
        lambda s, i, q: s.in_unit_of_work(lambda w: w.products.reserve(i, q)),
        (ids, quantities),
    ),
    "products.search": (
        lambda s, q: s.in_unit_of_work(lambda w: w.products.search(q)),
        (entities,),
    ),
    "carts.get_or_create": (
        lambda s, u: s.in_unit_of_work(lambda w: w.carts.get_or_create(u)),
        (ids,),
    ),
    "carts.get": (lambda s, c: s.in_unit_of_work(lambda w: w.carts.get(c)), (ids,)),
    "carts.find_for_user": (
        lambda s, u, lock: s.in_unit_of_work(lambda w: w.carts.find_for_user(u, lock=lock)),
        (ids, h(st.booleans())),
    ),
    "carts.add_item": (
        lambda s, c, p, q: s.in_unit_of_work(lambda w: w.carts.add_item(c, p, q)),
        (ids, ids, quantities),
    ),
    "carts.add_for_user": (
        lambda s, u, p, q: s.in_unit_of_work(lambda w: w.carts.add_for_user(u, p, q)),
        (ids, ids, quantities),
    ),
    "carts.set_quantity": (
        lambda s, c, p, q: s.in_unit_of_work(lambda w: w.carts.set_quantity(c, p, q)),
        (ids, ids, quantities),
    ),
    "carts.remove_item": (
        lambda s, c, p: s.in_unit_of_work(lambda w: w.carts.remove_item(c, p)),
        (missing_ids, ids),
    ),
    "carts.set_quantity_for_user": (
        lambda s, u, p, q: s.in_unit_of_work(lambda w: w.carts.set_quantity_for_user(u, p, q)),
        (ids, ids, quantities),
    ),
    "carts.remove_for_user": (
        lambda s, u, p: s.in_unit_of_work(lambda w: w.carts.remove_for_user(u, p)),
        (missing_ids, ids),
    ),
    "carts.clear": (lambda s, c: s.in_unit_of_work(lambda w: w.carts.clear(c)), (missing_ids,)),
    "orders.place": (
        lambda s, u, k: s.in_unit_of_work(lambda w: w.orders.place(u, k)),
        (ids, keys),
    ),
    "orders.get": (lambda s, u, o: s.in_unit_of_work(lambda w: w.orders.get(u, o)), (ids, ids)),
    "orders.list_for_user": (
        lambda s, u, limit, c: s.in_unit_of_work(
            lambda w: w.orders.list_for_user(u, limit=limit, cursor=c)
        ),
        (ids, h(st.just(5)), order_cursors),
    ),
}


@pytest.mark.parametrize("entry", list(ENTRIES))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_only_domain_errors_escape_and_refusals_change_nothing(
    shop: Shop, entry: str, data: st.DataObject
) -> None:
    call, arguments = ENTRIES[entry]
    values = [data.draw(strategy) for strategy in arguments]
    before = shop.fingerprint()
    try:
        call(shop, *values)
    except DomainError:
        assert shop.fingerprint() == before, f"{entry} refused the call but changed data"


def _strings(value: object) -> list[str]:
    """The strings in an argument, a mapping's keys and a list's items included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.items() for part in item for text in _strings(part)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


@pytest.mark.parametrize("entry", list(ENTRIES))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_message_is_bounded_and_escaped(shop: Shop, entry: str, data: st.DataObject) -> None:
    """Messages are documented as safe to show and log: one line of printable characters
    (a newline or a terminal escape in the input comes back escaped), at most MESSAGE_MAX
    characters, and no input longer than SHOWN_MAX repeated whole."""
    call, arguments = ENTRIES[entry]
    values = [data.draw(strategy) for strategy in arguments]
    try:
        call(shop, *values)
    except DomainError as exc:
        message = str(exc)
    else:
        return
    assert message.isprintable(), (entry, message[:300])
    assert len(message) <= MESSAGE_MAX, (entry, len(message))
    for text in (t for value in values for t in _strings(value)):
        assert len(text) <= SHOWN_MAX or text not in message, (entry, message[:300])


SETTINGS_FIELDS = [name for name in Settings.model_fields if name != "database_url"]


@settings(max_examples=150, deadline=None, database=None)
@given(
    overrides=st.dictionaries(
        st.sampled_from([*SETTINGS_FIELDS, "DATABASE_URL"]),
        h(st.sampled_from(["postgresql://u:p@h:5432/d", "postgresql://u:p/q@h/d", "5", "x"])),
        max_size=4,
    )
)
def test_settings_only_raise_settings_error(overrides: dict[str, Any]) -> None:
    try:
        load_settings(**overrides)
    except SettingsError as exc:
        message = str(exc)
    else:
        return
    assert "\n" not in message


ENVIRONMENT = ["DATABASE_URL", *(f"SHOPDB_{name.upper()}" for name in SETTINGS_FIELDS)]
# What an environment variable can hold: any text but NUL and lone surrogates.
env_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@settings(max_examples=150, deadline=None, database=None)
@given(
    environment=st.dictionaries(
        st.sampled_from(ENVIRONMENT),
        env_text | st.sampled_from(["5", "-1", "1e400", "nan", "inf", "true", "9" * 40, MEGABYTE]),
        max_size=4,
    )
)
def test_environment_values_only_raise_settings_error(environment: dict[str, str]) -> None:
    with mock.patch.dict(os.environ, environment):
        try:
            load_settings()
        except SettingsError as exc:
            message = str(exc)
        else:
            return
    assert "\n" not in message
    secret = environment.get("DATABASE_URL", "")
    assert len(secret) < 8 or secret not in message
