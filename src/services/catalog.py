# Generated from catalog_async.py (tools/generate_sync.py): edit that instead.
"""Catalog: products, prices, stock and search."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from domain.errors import InvalidInput
from domain.model import NewProduct, Product, ProductChanges, ProductSummary
from domain.search import Page, ProductQuery, ProductSort
from domain.validation import build, check, every, identifier
from domain.values import Version
from ports.observation import Observer
from ports.unit_of_work import UnitOfWorkFactory
from services.observed import UNOBSERVED, use_case


class CatalogService:
    def __init__(self, uow: UnitOfWorkFactory, observer: Observer = UNOBSERVED) -> None:
        self._uow = uow
        self._observer = observer

    @use_case
    def create_product(
        self,
        name: str,
        price: Decimal | str | int,
        description: str | None = None,
        inventory_count: int = 0,
    ) -> Product:
        """Raises InvalidInput."""
        new = build(
            NewProduct,
            name=name,
            price=price,
            description=description,
            inventory_count=inventory_count,
        )
        with self._uow(autocommit=True) as uow:
            return uow.products.add(new)

    @use_case
    def import_products(self, rows: Iterable[NewProduct | Mapping[str, object]]) -> int:
        """All or nothing, in one transaction: rows are validated as they stream into storage
        (memory stays bounded whatever their number), and a bad row, or any exception raised
        by `rows` itself, rolls back every row before it and propagates. Raises InvalidInput
        naming the first bad row."""
        if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
            raise InvalidInput("rows: must be an iterable of products or mappings")
        with self._uow(autocommit=True) as uow:
            return uow.products.add_many(_validated(rows))

    @use_case
    def get_product(self, product_id: int) -> Product:
        """Raises ProductNotFound."""
        with self._uow(read_only=True) as uow:
            return uow.products.get(product_id)

    @use_case
    def update_product(self, product_id: int, expected_version: int, **changes: object) -> Product:
        """Change name, description and/or price, if nobody changed the product since
        `expected_version`. Raises ProductNotFound, ConcurrencyConflict or InvalidInput."""
        _, _, patch = every(
            lambda: identifier(product_id, "product_id"),
            lambda: check(expected_version, Version, "expected_version"),
            lambda: build(ProductChanges, **changes),
        )
        with self._uow(autocommit=True) as uow:
            return uow.products.update(product_id, expected_version, patch)

    @use_case
    def restock(self, product_id: int, quantity: int) -> Product:
        """Raises ProductNotFound or InvalidInput."""
        with self._uow(autocommit=True) as uow:
            return uow.products.restock(product_id, quantity)

    @use_case
    def delete_product(self, product_id: int) -> None:
        """Archive the product: it leaves the catalog (get, search) and every cart; the orders
        that sold it keep it as sold. Raises ProductNotFound (also when archived already)."""
        identifier(product_id, "product_id")
        with self._uow(autocommit=True) as uow:
            uow.products.delete(product_id)

    @use_case
    def search(
        self,
        text: str | None = None,
        *,
        min_price: Decimal | str | None = None,
        max_price: Decimal | str | None = None,
        in_stock_only: bool = False,
        sort: ProductSort | str = ProductSort.NAME,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[ProductSummary]:
        """One page of matching products, as summaries (`get_product` has the description);
        pass `next_cursor` back for the next page."""
        query = build(
            ProductQuery,
            text=text,
            min_price=min_price,
            max_price=max_price,
            in_stock_only=in_stock_only,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        with self._uow(read_only=True) as uow:
            return uow.products.search(query)


def _validated(rows: Iterable[NewProduct | Mapping[str, object]]) -> Iterator[NewProduct]:
    for number, row in enumerate(rows, start=1):
        if isinstance(row, NewProduct):
            yield row
            continue
        try:
            if not isinstance(row, Mapping) or not all(isinstance(k, str) for k in row):
                raise InvalidInput("must be a mapping of field names to values")
            product = build(NewProduct, **row)
        except InvalidInput as exc:
            raise InvalidInput(*(f"row {number}: {p}" for p in exc.problems)) from None
        yield product
