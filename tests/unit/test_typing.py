"""mypy --strict checks code written against the container: its accessors are typed."""

from __future__ import annotations

from pathlib import Path

from tests.typecheck import strict_mypy

USER_CODE = """
from decimal import Decimal

from domain.model import Order, Product
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from services import CartService
from shopdb.container import Container
from shopdb.settings import load_settings

container = Container(settings=load_settings())
units: UnitOfWorkFactory = container.unit_of_work()
carts: CartService = container.carts()
order: Order = carts.checkout(user_id=1, idempotency_key="k")
with container.unit_of_work()(read_only=True) as uow:
    checked: UnitOfWork = uow
    product: Product = uow.products.get(1)
    price: Decimal = product.price
reveal_type(container.unit_of_work())
reveal_type(container.pool())
"""


WRONG = "\n".join(
    [
        USER_CODE,
        "name: int = container.catalog().get_product(1).name",
        "container.unit_of_work()(read_only='yes')",
    ]
)


def test_accessors_are_typed_and_errors_in_user_code_are_reported(tmp_path: Path) -> None:
    (tmp_path / "right.py").write_text(USER_CODE)
    (tmp_path / "wrong.py").write_text(WRONG)
    stdout, stderr = strict_mypy(tmp_path / "cache", tmp_path / "right.py", tmp_path / "wrong.py")
    right = [line for line in stdout.splitlines() if line.startswith(str(tmp_path / "right.py"))]
    wrong = [line for line in stdout.splitlines() if line.startswith(str(tmp_path / "wrong.py"))]
    assert stderr == ""
    assert [line.split(": ", 1)[1] for line in right] == [
        'note: Revealed type is "ports.unit_of_work.UnitOfWorkFactory"',
        'note: Revealed type is "adapters.postgres.pool.ShopdbPool | None"',
    ], stdout
    errors = "\n".join(line for line in wrong if ": error: " in line)
    assert 'Incompatible types in assignment (expression has type "str"' in errors, stdout
    assert 'Argument "read_only" to "__call__" of "UnitOfWorkFactory"' in errors, stdout
