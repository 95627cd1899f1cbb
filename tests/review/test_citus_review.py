"""A review of shopdb on a Citus cluster (`.ci/citus`, marker `citus`), through the services on
the coordinator after `shopdb distribute`: the races and errors that one server holds, held the
same where a user's rows, the lookup tables of usernames and emails and the copies of products
sit on different nodes. Each test is a guard: the rule it names held when attacked."""

from __future__ import annotations

import contextlib
import threading
from functools import partial
from typing import Any

import psycopg
import pytest

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from adapters.schema import TABLES
from domain.errors import (
    CartItemNotFound,
    EmailTaken,
    EmptyCart,
    InsufficientInventory,
    UsernameTaken,
    UserNotFound,
)
from services import AccountService, CartService, CatalogService
from shopdb.distribute import Outcome, distribute
from shopdb.migrations import upgrade
from shopdb.testdb import pool_config, scratch_database
from shopdb.testing import InsecureTestHasher
from tests.review.helpers import together

pytestmark = pytest.mark.citus

HASHER = InsecureTestHasher()
PASSWORD = "a long password"  # pragma: allowlist secret
TRIALS = 5


def _services(uow: PostgresUnitOfWorkFactory) -> tuple[AccountService, CartService, CatalogService]:
    return AccountService(uow, HASHER), CartService(uow), CatalogService(uow)


def _rows(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchall()


def _keys_match_users(url: str) -> None:
    """Every live user has exactly its own keys in the lookup tables, and no key names anyone
    else (read table by table: users and the lookup tables are not co-located)."""
    users = {
        (int(i), str(n).lower(), str(e).lower())
        for i, n, e in _rows(url, "SELECT id, username, email FROM users WHERE deleted_at IS NULL")
    }
    names = {
        (int(i), str(k)) for k, i in _rows(url, "SELECT username_lower, user_id FROM usernames")
    }
    emails = {(int(i), str(k)) for k, i in _rows(url, "SELECT email_lower, user_id FROM emails")}
    assert names == {(i, n) for i, n, _ in users}
    assert emails == {(i, e) for i, _, e in users}


def test_concurrent_registrations_of_one_name_or_email_admit_exactly_one(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """The unique rules live in the lookup tables, each key checked on the node that holds it:
    of six registrations released together with one username (in different cases), or one
    email, exactly one succeeds and the others raise UsernameTaken / EmailTaken (never a
    generic error from a shard), and the lookup tables match the users afterwards."""
    accounts, _, _ = _services(postgres_uow)
    for trial in range(TRIALS):
        names = together(
            *[
                lambda i=i, t=trial: accounts.register(
                    f"Name{t}" if i % 2 else f"nAME{t}", f"n{t}-{i}@x.com", PASSWORD
                )
                for i in range(6)
            ]
        )
        assert sum(ok for ok, _ in names) == 1, names
        assert all(isinstance(e, UsernameTaken) for ok, e in names if not ok), names
        emails = together(
            *[
                lambda i=i, t=trial: accounts.register(
                    f"mail{t}-{i}",
                    f"Same{t}@X.com" if i % 2 else f"sAME{t}@x.COM",
                    PASSWORD,
                )
                for i in range(6)
            ]
        )
        assert sum(ok for ok, _ in emails) == 1, emails
        assert all(isinstance(e, EmailTaken) for ok, e in emails if not ok), emails
    _keys_match_users(clean_database)


def test_two_users_swapping_emails_at_once_are_both_refused_and_keep_their_keys(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """change_email replaces the email's key (on another node, maybe) in the statement that
    changes the user: two users taking each other's address at once are both refused with
    EmailTaken, as on one server (checked there by hand: the same outcome), with no distributed
    deadlock or shard error escaping, and each keeps its own key."""
    accounts, _, _ = _services(postgres_uow)
    for trial in range(TRIALS):
        a = accounts.register(f"swap{trial}a", f"swap{trial}a@x.com", PASSWORD)
        b = accounts.register(f"swap{trial}b", f"swap{trial}b@x.com", PASSWORD)
        outcome = together(
            partial(accounts.change_email, a.id, f"swap{trial}b@x.com"),
            partial(accounts.change_email, b.id, f"swap{trial}a@x.com"),
        )
        assert all(not ok for ok, _ in outcome), outcome
        assert all(isinstance(e, EmailTaken) for _, e in outcome), outcome
    _keys_match_users(clean_database)


def test_concurrent_checkouts_of_the_last_units_never_oversell(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """Eight users on different shards hold one unit each of a product with three left and
    check out together: three orders, five InsufficientInventory, and the stock taken equals
    the quantities sold (products is a reference table: its copies are written by two-phase
    commit under Citus's lock)."""
    accounts, carts, catalog = _services(postgres_uow)
    users = [accounts.register(f"buyer{i}", f"buyer{i}@x.com", PASSWORD) for i in range(8)]
    for trial in range(TRIALS):
        product = catalog.create_product(f"Last {trial}", "2.00", "d", inventory_count=3)
        for user in users:
            carts.add_to_cart(user.id, product.id, 1)
        outcome = together(
            *[partial(carts.checkout, user.id, f"last-{trial}-{user.id}") for user in users]
        )
        assert sum(ok for ok, _ in outcome) == 3, outcome
        assert all(isinstance(e, InsufficientInventory) for ok, e in outcome if not ok), outcome
        ((left,),) = _rows(
            clean_database, "SELECT inventory_count FROM products WHERE id = %s", product.id
        )
        ((sold,),) = _rows(
            clean_database,
            "SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE product_id = %s",
            product.id,
        )
        print(f"trial {trial}: stock left {left}, sold {sold}")
        assert (left, sold) == (0, 3)
        for user in users:  # the refused carts keep their line: empty them for the next trial
            with contextlib.suppress(CartItemNotFound):
                carts.remove_from_cart(user.id, product.id)


def test_one_idempotency_key_at_once_sells_once_and_returns_one_order(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """Six checkouts of one cart with one key, released together: every call returns the same
    order (the losers of the race on the key's unique index, relayed by the coordinator, are
    retried and find it), one order is stored and the stock is taken once."""
    accounts, carts, catalog = _services(postgres_uow)
    user = accounts.register("once", "once@x.com", PASSWORD)
    for trial in range(TRIALS):
        product = catalog.create_product(f"Once {trial}", "3.00", "d", inventory_count=100)
        carts.add_to_cart(user.id, product.id, 2)
        outcome = together(*[partial(carts.checkout, user.id, f"key-{trial}") for _ in range(6)])
        assert all(ok for ok, _ in outcome), outcome
        assert len({order.id for _, order in outcome}) == 1, outcome
        assert _rows(
            clean_database, "SELECT count(*) FROM orders WHERE idempotency_key = %s", f"key-{trial}"
        ) == [(1,)]
        assert _rows(
            clean_database, "SELECT inventory_count FROM products WHERE id = %s", product.id
        ) == [(98,)]


def test_archiving_a_user_while_adding_to_its_cart_leaves_no_cart(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """Archiving locks the user's row, then deletes its carts in a statement that starts once
    the lock is held; adding to the cart takes the same lock on the user's node. Released
    together, no archived user keeps a cart, and the adds that lose raise UserNotFound."""
    accounts, carts, catalog = _services(postgres_uow)
    product = catalog.create_product("Lamp", "2.00", "d", inventory_count=10**6)
    for trial in range(3 * TRIALS):
        user = accounts.register(f"gone{trial}", f"gone{trial}@x.com", PASSWORD)
        outcome = together(
            partial(accounts.delete_user, user.id),
            partial(carts.add_to_cart, user.id, product.id, 1),
            partial(carts.add_to_cart, user.id, product.id, 1),
        )
        assert outcome[0][0], outcome
        assert all(ok or isinstance(e, UserNotFound) for ok, e in outcome[1:]), outcome
        assert _rows(clean_database, "SELECT count(*) FROM carts WHERE user_id = %s", user.id) == [
            (0,)
        ]
    _keys_match_users(clean_database)


def test_archiving_a_product_while_its_cart_checks_out_keeps_the_stock_whole(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """Archiving a product deletes its lines from every user's cart (a statement over every
    shard) and marks the reference table's row, while the cart's checkout locks it: either the
    checkout sold it first or it finds the cart empty; the stock taken equals the quantity
    sold either way."""
    accounts, carts, catalog = _services(postgres_uow)
    for trial in range(2 * TRIALS):
        user = accounts.register(f"buy{trial}", f"buy{trial}@x.com", PASSWORD)
        product = catalog.create_product(f"P {trial}", "2.00", "d", inventory_count=5)
        carts.add_to_cart(user.id, product.id, 2)
        outcome = together(
            partial(catalog.delete_product, product.id),
            partial(carts.checkout, user.id, f"archived-{trial}"),
        )
        assert outcome[0][0], outcome
        assert outcome[1][0] or isinstance(outcome[1][1], EmptyCart), outcome
        ((left,),) = _rows(
            clean_database, "SELECT inventory_count FROM products WHERE id = %s", product.id
        )
        ((sold,),) = _rows(
            clean_database,
            "SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE product_id = %s",
            product.id,
        )
        assert 5 - left == sold == (2 if outcome[1][0] else 0), outcome


def test_distribute_at_once_three_times_distributes_once(admin_url: str) -> None:
    """Three `shopdb distribute` released together: one distributes every table, the others
    wait for it (the advisory lock) and find nothing to do; none fails."""
    with scratch_database(admin_url, prefix="review2_distribute") as url:
        upgrade(url)
        barrier = threading.Barrier(3)
        outcomes: list[Outcome | BaseException] = []

        def run() -> None:
            barrier.wait()
            try:
                outcomes.append(distribute(url))
            except BaseException as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=run) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert all(isinstance(o, Outcome) for o in outcomes), outcomes
        done = sorted(len(o.distributed) for o in outcomes if isinstance(o, Outcome))
        assert done == [0, 0, len(TABLES)], outcomes


def test_distribute_finishes_a_database_whose_users_were_distributed_by_hand(
    admin_url: str,
) -> None:
    """A partly distributed database (users by id, as declared, done by hand): distribute does
    the rest, in the declared layout, co-locating the user's tables with users."""
    with scratch_database(admin_url, prefix="review2_partly") as url:
        upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT create_distributed_table('users', 'id')")
        outcome = distribute(url)
        assert "users" not in outcome.distributed
        assert set(outcome.distributed) == set(TABLES) - {"users"}
        found = dict(
            (str(t), (str(m), c))
            for t, m, c in _rows(
                url,
                "SELECT logicalrelid::regclass::text, partmethod, colocationid"
                " FROM pg_dist_partition",
            )
        )
        assert found["products"][0] == "n"
        for table in ("carts", "cart_items", "orders", "order_lines"):
            assert found[table] == ("h", found["users"][1]), table


def test_a_pool_opened_before_distribute_works_after_it(admin_url: str) -> None:
    """`shopdb distribute` under a live pool (its connections began before the database's
    `citus.multi_shard_modify_mode` was set): archiving a product that sits in several users'
    carts (a statement over many shards, then a write to the reference table) and a checkout
    succeed through those connections."""
    with scratch_database(admin_url, prefix="review2_live") as url:
        upgrade(url)
        pool = create_pool(pool_config(conninfo=url, min_size=4, max_size=4, timeout=10))
        pool.wait()
        try:
            accounts, carts, catalog = _services(PostgresUnitOfWorkFactory(pool))
            users = [accounts.register(f"live{i}", f"live{i}@x.com", PASSWORD) for i in range(6)]
            keep = catalog.create_product("Keep", "1.00", "d", inventory_count=100)
            for user in users:
                carts.add_to_cart(user.id, keep.id, 1)
            assert len(distribute(url).distributed) == len(TABLES)
            for trial in range(4):
                product = catalog.create_product(f"Gone {trial}", "1.00", "d", inventory_count=9)
                for user in users:
                    carts.add_to_cart(user.id, product.id, 1)
                catalog.delete_product(product.id)
            order = carts.checkout(users[0].id, "live-key")
            assert [line.product_id for line in order.lines] == [keep.id]
        finally:
            pool.close()
