# Generated from test_claims_async.py (tools/generate_sync.py): edit that instead.
"""The fake's claims are executable. Every rule of the schema, whether the fake lists it as
enforced (adapters/memory/constraints.py) or the PostgreSQL adapter as unmapped
(adapters/postgres/constraints.py), has an example here that tries to break it through the
ports; it runs on both adapters. A rule with no example, an example for a rule neither lists,
or a rule the fake claims and does not enforce fails this module."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from adapters.memory.constraints import ENFORCED
from adapters.postgres.constraints import UNMAPPED
from domain.errors import (
    CartFull,
    CartNotFound,
    DomainError,
    EmailTaken,
    EmptyCart,
    InsufficientInventory,
    InvalidInput,
    ProductNotFound,
    UsernameTaken,
    UserNotFound,
)
from domain.model import NewProduct, NewUser, OrderStatus, ProductChanges
from domain.values import CART_LINES_MAX
from ports.unit_of_work import UnitOfWorkFactory
from tests.contract.helpers import add_product, add_user, contract_modules

Example = Callable[[UnitOfWorkFactory], Any]
HASH = "$argon2id$fake"


def _new_user(**fields: object) -> NewUser:
    values: dict[str, object] = {"username": "bob", "email": "bob@example.com"}
    return NewUser.model_construct(**{**values, "password_hash": HASH, **fields})  # type: ignore[arg-type]


def _new_product(**fields: object) -> NewProduct:
    values: dict[str, object] = {"name": "Lamp", "price": Decimal("1.00"), "inventory_count": 1}
    return NewProduct.model_construct(**{**values, "description": None, **fields})  # type: ignore[arg-type]


def _write(action: Callable[..., Any]) -> Example:
    """An example that runs `action(work)` in a unit of work and commits."""

    def run(uow: UnitOfWorkFactory) -> object:
        with uow() as work:
            done = action(work)
            work.commit()
        return done

    return run


def _shop(uow: UnitOfWorkFactory) -> tuple[int, int, int]:
    """alice with a cart holding 2 of a lamp (10 in stock): (user, product, cart)."""
    alice, lamp = add_user(uow, "alice"), add_product(uow, inventory=10)
    with uow() as work:
        cart = work.carts.get_or_create(alice.id)
        work.carts.add_item(cart.id, lamp.id, 2)
        work.commit()
    return alice.id, lamp.id, cart.id


# Rules the ports can break: each example must be refused with this error, on both adapters.
RULES_REFUSED: dict[str, tuple[type[DomainError], Example]] = {
    "users_username_length_check": (
        InvalidInput,
        _write(lambda w: w.users.add(_new_user(username="ab"))),
    ),
    "users_password_hash_not_empty_check": (
        InvalidInput,
        _write(lambda w: w.users.add(_new_user(password_hash=""))),
    ),
    "users_username_lower_key": (
        UsernameTaken,
        _write(lambda w: w.users.add(_new_user(username="ALICE"))),
    ),
    "users_email_lower_key": (
        EmailTaken,
        _write(lambda w: w.users.add(_new_user(email="Alice@Example.com"))),
    ),
    "products_name_not_blank_check": (
        InvalidInput,
        _write(lambda w: w.products.add(_new_product(name=" \t"))),
    ),
    "products_price_non_negative_check": (
        InvalidInput,
        _write(lambda w: w.products.add(_new_product(price=Decimal("-0.01")))),
    ),
    "products_price_not_nan_check": (
        InvalidInput,
        _write(lambda w: w.products.add(_new_product(price=Decimal("NaN")))),
    ),
    "products_inventory_count_non_negative_check": (
        InsufficientInventory,
        _write(lambda w: w.products.reserve(1, 11)),
    ),
    "products_version_positive_check": (
        InvalidInput,
        _write(lambda w: w.products.update(1, 0, ProductChanges(name="Renamed"))),
    ),
    "products_description_length_check": (
        InvalidInput,
        _write(lambda w: w.products.add(_new_product(description="x" * 10_001))),
    ),
    "carts_user_id_fkey": (UserNotFound, _write(lambda w: w.carts.get_or_create(999))),
    "cart_items_cart_id_fkey": (CartNotFound, _write(lambda w: w.carts.add_item(999, 1, 1))),
    "cart_items_product_id_fkey": (
        ProductNotFound,
        _write(lambda w: w.carts.add_item(1, 999, 1)),
    ),
    "cart_items_quantity_positive_check": (
        InvalidInput,
        _write(lambda w: w.carts.add_item(1, 1, 0)),
    ),
    "orders_user_id_fkey": (EmptyCart, _write(lambda w: w.orders.place(999, "k"))),
    "orders_idempotency_key_length_check": (
        InvalidInput,
        _write(lambda w: w.orders.place(1, "k" * 101)),
    ),
}


def _full_cart(uow: UnitOfWorkFactory) -> object:
    with uow() as work:
        work.products.add_many(
            NewProduct(name=f"P{i}", price=Decimal("1.00"), inventory_count=5)
            for i in range(CART_LINES_MAX)
        )
        work.commit()
    with uow() as work:
        for product_id in range(2, 1 + CART_LINES_MAX):  # the cart holds the lamp already
            work.carts.add_item(1, product_id, 1)
        work.commit()
    with uow() as work:
        return work.carts.add_item(1, 1 + CART_LINES_MAX, 1)


RULES_REFUSED["cart_items_lines_max_check"] = (CartFull, _full_cart)


# Rules no port call can break (the adapter writes the value itself): each example does what
# comes closest and checks that the rule held.
def _ids_are_drawn_once(uow: UnitOfWorkFactory) -> None:
    with uow() as work:
        work.users.add(_new_user(username="carol", email="carol@example.com"))
        work.products.add(_new_product(name="Lost"))
        work.carts.get_or_create(1)  # alice's cart exists: no new one
        # rolled back: the ids it drew are not handed out again
    bob = add_user(uow, "bob")
    shade = add_product(uow, name="Shade")
    assert (bob.id, shade.id) == (3, 3)  # alice 1, the lamp 1, and each 2 drawn and lost


def _one_line_a_product(uow: UnitOfWorkFactory) -> None:
    with uow() as work:
        work.carts.add_item(1, 1, 3)
        work.commit()
    with uow(read_only=True) as work:
        cart = work.carts.get(1)
    assert [(i.product_id, i.quantity) for i in cart.items] == [(1, 5)]
    assert len({i.id for i in cart.items}) == 1


def _an_order_copies_its_cart(uow: UnitOfWorkFactory) -> None:
    with uow() as work:
        order = work.orders.place(1, "key")
        work.commit()
    with uow() as work:
        again = work.orders.place(1, "key")  # the key's order, not a second one
        work.products.delete(1)  # archived: the order keeps its line
        work.commit()
    with uow(read_only=True) as work:
        stored = work.orders.get(1, order.id)
        page = work.orders.list_for_user(1)
    assert again.id == order.id == stored.id
    assert len(page.items) == 1
    assert stored.status is OrderStatus.PLACED
    assert [(line.product_id, line.unit_price, line.quantity) for line in stored.lines] == [
        (1, Decimal("19.99"), 2)
    ]
    assert stored.total == Decimal("39.98")


def _archived_users_keep_no_hash(uow: UnitOfWorkFactory) -> None:
    with uow() as work:
        work.users.delete(1)
        work.commit()
    with uow(read_only=True) as work, pytest.raises(UserNotFound):
        work.users.get(1)
    # The archived row keeps neither its hash nor its name and address: both are free again.
    again = add_user(uow, "alice")
    assert again.id != 1
    assert again.password_hash == HASH


RULES_HELD: dict[str, Example] = {
    "users_pkey": _ids_are_drawn_once,
    "products_pkey": _ids_are_drawn_once,
    "carts_pkey": _ids_are_drawn_once,
    "cart_items_pkey": _one_line_a_product,
    "orders_pkey": _an_order_copies_its_cart,
    "order_lines_pkey": _an_order_copies_its_cart,
    "users_password_hash_archived_check": _archived_users_keep_no_hash,
    "cart_items_cart_id_product_id_key": _one_line_a_product,
    "orders_status_check": _an_order_copies_its_cart,
    "orders_total_non_negative_check": _an_order_copies_its_cart,
    "orders_user_id_idempotency_key_key": _an_order_copies_its_cart,
    "order_lines_order_id_fkey": _an_order_copies_its_cart,
    "order_lines_product_id_fkey": _an_order_copies_its_cart,
    "order_lines_unit_price_non_negative_check": _an_order_copies_its_cart,
    "order_lines_quantity_positive_check": _an_order_copies_its_cart,
    "order_lines_order_id_product_id_key": _an_order_copies_its_cart,
}


def collected(name: str) -> dict[str, Any]:
    """The examples of every contract module (an aggregate's own module may keep its rules'
    examples as RULES_REFUSED and RULES_HELD), each rule once."""
    found: dict[str, Any] = {}
    for module in contract_modules():
        examples = getattr(module, name, {})
        assert not found.keys() & examples.keys(), f"{module.__name__}: a second example"
        found.update(examples)
    return found


REFUSED: dict[str, tuple[type[DomainError], Example]] = collected("RULES_REFUSED")
HELD: dict[str, Example] = collected("RULES_HELD")


def test_every_rule_has_exactly_one_example() -> None:
    assert not REFUSED.keys() & HELD.keys()
    assert REFUSED.keys() | HELD.keys() == ENFORCED.keys() | UNMAPPED.keys()


@pytest.mark.parametrize("rule", sorted(REFUSED))
def test_the_rule_is_enforced(uow: UnitOfWorkFactory, rule: str) -> None:
    _shop(uow)
    error, example = REFUSED[rule]
    with pytest.raises(error):
        example(uow)


@pytest.mark.parametrize("rule", sorted(HELD))
def test_the_rule_holds(uow: UnitOfWorkFactory, rule: str) -> None:
    _shop(uow)
    HELD[rule](uow)
