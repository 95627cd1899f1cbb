"""`shopdb demo`: the whole path end to end on the configured database."""

from __future__ import annotations

import secrets
from typing import Any

from rich.console import Console
from rich.table import Table

from domain.errors import InsufficientInventory
from domain.model import Cart, Order
from shopdb.container import Container


def _cart_table(title: str, cart: Cart | Order) -> Table:
    table = Table(title=title)
    for column in ("product", "unit price", "qty", "line total"):
        table.add_column(column, justify="left" if column == "product" else "right")
    lines: Any = cart.items if isinstance(cart, Cart) else cart.lines
    for line in lines:
        table.add_row(
            line.product_name, str(line.unit_price), str(line.quantity), str(line.line_total)
        )
    table.add_section()
    table.add_row("total", "", "", f"[bold]{cart.total}[/bold]")
    return table


def run_demo(container: Container, console: Console) -> None:
    accounts, catalog, carts = container.accounts(), container.catalog(), container.carts()
    orders = container.orders()
    token = secrets.token_hex(2)

    console.rule("catalog")
    lamp = catalog.create_product(f"Desk lamp {token}", "19.99", "Warm light", inventory_count=5)
    mug = catalog.create_product(f"Espresso mug {token}", "7.45", inventory_count=12)
    vase = catalog.create_product(f"Glass vase {token} (last one)", "120.10", inventory_count=1)
    for product in (lamp, mug, vase):
        console.print(
            f"  #{product.id} {product.name}: {product.price} ({product.inventory_count} in stock)"
        )

    console.rule("customers")
    alice = accounts.register(
        f"alice_{token}", f"alice_{token}@example.com", "correct horse battery"
    )
    bob = accounts.register(f"bob_{token}", f"bob_{token}@example.com", "staple battery horse")
    console.print(f"  registered {alice.username} (#{alice.id}) and {bob.username} (#{bob.id})")
    signed_in = accounts.authenticate(alice.username, "correct horse battery")
    console.print(f"  {alice.username} signs in: #{signed_in.id}")

    console.rule("alice fills her cart")
    carts.add_to_cart(alice.id, lamp.id, 2)
    carts.add_to_cart(alice.id, mug.id, 3)
    carts.add_to_cart(alice.id, mug.id, 1)
    carts.add_to_cart(alice.id, vase.id, 1)
    cart = carts.view_cart(alice.id)
    if cart is not None:
        console.print(_cart_table(f"cart of {alice.username}", cart))
    carts.add_to_cart(bob.id, vase.id, 1)
    console.print(f"  {bob.username} also puts the last vase in his cart")

    console.rule("checkout")
    before = {p.id: p.inventory_count for p in (lamp, mug, vase)}
    key = f"demo-{token}-alice-1"  # kept until an answer arrives: a repeat sells nothing twice
    order = carts.checkout(alice.id, key)
    console.print(_cart_table(f"order #{order.id} of {alice.username} ({order.status})", order))
    again = carts.checkout(alice.id, key)
    console.print(f"  the same checkout repeated (same key) returns order #{again.id} again")
    stock = Table(title="inventory")
    for column in ("product", "before", "after"):
        stock.add_column(column)
    for product in (lamp, mug, vase):
        after = catalog.get_product(product.id).inventory_count
        stock.add_row(product.name, str(before[product.id]), str(after))
    console.print(stock)

    console.rule("a second checkout of the sold-out vase")
    try:
        carts.checkout(bob.id)
    except InsufficientInventory as refused:
        console.print(f"  refused, as it should be: [bold]{refused}[/bold]")
        bob_cart = carts.view_cart(bob.id)
        lines = len(bob_cart.items) if bob_cart else 0
        console.print(f"  {bob.username}'s cart is unchanged: {lines} line(s)")
    else:
        raise RuntimeError("the sold-out vase was sold twice")

    console.rule("order history")
    carts.add_to_cart(alice.id, mug.id, 2)
    second = carts.checkout(alice.id, f"demo-{token}-alice-2")
    console.print(
        f"  {alice.username} comes back for 2 more mugs: order #{second.id}, {second.total}"
    )
    history = Table(title=f"orders of {alice.username}, newest first")
    for column in ("order", "placed at", "lines", "total"):
        history.add_column(column)
    page = orders.order_history(alice.id, limit=10)
    for placed in page.items:
        history.add_row(
            f"#{placed.id}",
            f"{placed.created_at:%Y-%m-%d %H:%M:%S}",
            str(len(placed.lines)),
            str(placed.total),
        )
    console.print(history)

    console.rule("pool")
    pool = container.pool()
    if pool is None:
        console.print("  in-memory backend: no pool")
    else:
        console.print(pool.get_stats())
