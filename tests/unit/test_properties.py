"""Properties of the domain and the in-memory adapter, over generated data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.memory import MemoryUnitOfWorkFactory
from domain.errors import EmptyCart, InsufficientInventory
from domain.model import Cart, CartItem, NewProduct, Product, ProductSummary
from domain.search import ProductQuery, ProductSort
from services import CartService, CatalogService
from tests.strategies import new_products, prices, quantities

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _ascii_lower(text: str) -> str:
    """The documented case rule, written out: A-Z become a-z, nothing else changes."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


@given(new_products, st.integers(1, 2**31 - 1))
def test_products_round_trip_through_json(new: NewProduct, version: int) -> None:
    product = Product(id=1, version=version, created_at=NOW, updated_at=NOW, **new.model_dump())
    assert Product.model_validate_json(product.model_dump_json()) == product


@given(st.lists(st.tuples(prices, quantities), max_size=20))
def test_cart_total_is_the_exact_sum_of_its_lines(lines: list[tuple[Decimal, int]]) -> None:
    items = tuple(
        CartItem(id=n, cart_id=1, product_id=n, quantity=q, product_name="p", unit_price=price)
        for n, (price, q) in enumerate(lines, start=1)
    )
    cart = Cart(id=1, user_id=1, items=items, created_at=NOW, updated_at=NOW)
    assert cart.total == sum((price * q for price, q in lines), Decimal(0))
    assert cart.total == sum((item.line_total for item in cart.items), Decimal(0))
    assert cart.total.as_tuple().exponent == -2
    assert Cart.model_validate_json(cart.model_dump_json()) == cart


@settings(max_examples=50)
@given(
    stock=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    operations=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(1, 4), st.booleans()),
        max_size=25,
    ),
)
def test_checkout_never_oversells_and_conserves_stock(
    stock: list[int], operations: list[tuple[int, int, int, bool]]
) -> None:
    uow = MemoryUnitOfWorkFactory()
    catalog, carts = CatalogService(uow), CartService(uow)
    products = [
        catalog.create_product(f"P{i}", "1.00", inventory_count=n) for i, n in enumerate(stock)
    ]
    with uow() as work:
        from domain.model import NewUser

        users = [
            work.users.add(
                NewUser(username=f"user{i}", email=f"u{i}@example.com", password_hash="h")
            )
            for i in range(3)
        ]
        work.commit()
    sold = dict.fromkeys((p.id for p in products), 0)
    for user_index, product_index, quantity, checkout in operations:
        user = users[user_index]
        product = products[product_index % len(products)]
        try:
            if checkout:
                for line in carts.checkout(user.id).lines:
                    sold[line.product_id] += line.quantity
            else:
                carts.add_to_cart(user.id, product.id, quantity)
        except (InsufficientInventory, EmptyCart):
            pass
    for product in products:
        remaining = catalog.get_product(product.id).inventory_count
        assert remaining >= 0
        assert remaining + sold[product.id] == product.inventory_count


@settings(max_examples=60)
@given(
    products=st.lists(new_products, max_size=30),
    sort=st.sampled_from(ProductSort),
    limit=st.integers(1, 7),
    in_stock_only=st.booleans(),
    text=st.none() | st.text("aAbB\u0130i\u0131\u03c3\u03c2\u03a3\u00df\u00e9\u0301%_", max_size=2),
)
def test_search_pages_concatenate_to_the_full_sorted_result(
    products: list[NewProduct], sort: ProductSort, limit: int, in_stock_only: bool, text: str | None
) -> None:
    uow = MemoryUnitOfWorkFactory()
    for batch in (products[::2], products[1::2]):  # two transactions: two timestamps
        with uow() as work:
            work.products.add_many(batch)
            work.commit()
    with uow(read_only=True) as work:
        stored = work.products.get_many(range(1, len(products) + 1))
        # The order the documentation promises, built here rather than taken from the adapter:
        # names by code point, then price, or newest first; ties by id (newest: id descending).
        assert len(stored) == len(products)
        rows = [
            (p.name, p.price, p.created_at, p.id)
            for p in stored.values()
            if (not in_stock_only or p.inventory_count > 0)
            and (text is None or _ascii_lower(text) in _ascii_lower(p.name))
        ]
        if sort is ProductSort.NAME:
            expected_ids = [r[3] for r in sorted(rows, key=lambda r: (r[0], r[3]))]
        elif sort is ProductSort.PRICE:
            expected_ids = [r[3] for r in sorted(rows, key=lambda r: (r[1], r[3]))]
        else:
            expected_ids = [r[3] for r in sorted(rows, key=lambda r: (r[2], r[3]), reverse=True)]
        seen: list[ProductSummary] = []
        cursor = None
        while True:
            query = ProductQuery(
                text=text, sort=sort, limit=limit, cursor=cursor, in_stock_only=in_stock_only
            )
            page = work.products.search(query)
            assert len(page.items) <= limit
            seen.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
            assert len(page.items) == limit
    assert [p.id for p in seen] == expected_ids
