# Generated from products_async.py (tools/generate_sync.py): edit that instead.
"""In-memory product repository: versions, atomic reservations and keyset search."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from adapters.memory import cascade
from adapters.memory.database import ArchivedProductRow
from adapters.memory.transaction import write
from domain.errors import (
    ConcurrencyConflict,
    InsufficientInventory,
    InvalidInput,
    ProductNotFound,
)
from domain.model import NewProduct, Product, ProductChanges, ProductSummary
from domain.search import Page, ProductQuery, ProductSort, encode_cursor, sort_key
from domain.validation import (
    build,
    every,
    identifier,
    identifiers,
    instance,
    new_products,
    product_query,
    version,
)
from domain.validation import quantity as valid_quantity
from domain.values import INT4_MAX
from ports.products import ProductRepository

if TYPE_CHECKING:
    from adapters.memory.database import Tables
    from adapters.memory.transaction import MemoryTransaction

# The schema's rules on this repository's tables, by the names the migrations give them, and
# how the fake enforces each (tests/contract/test_drift.py, test_claims.py).
ENFORCED: Mapping[str, str] = {
    "products_pkey": "MemoryDatabase.next_id",
    "products_name_not_blank_check": "domain.values.not_blank, same white space as btrim",
    "products_price_non_negative_check": "domain.values.Price: ge=0",
    "products_price_not_nan_check": "domain.values.money: finite amounts only",
    "products_inventory_count_non_negative_check": "domain.values.Inventory, and reserve",
    "products_version_positive_check": "domain.values.Version; versions start at 1",
    "products_description_length_check": "domain.values.Description: at most 10,000 characters",
}


class MemoryProductRepository:
    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction

    def _new(self, tables: Tables, product: NewProduct) -> Product:
        product_id = self._tx.database.next_id("products")
        now = self._tx.now()
        # build(): an entity made with model_construct is checked here, as the schema would.
        stored = build(
            Product,
            id=product_id,
            name=product.name,
            description=product.description,
            price=product.price,
            inventory_count=product.inventory_count,
            version=1,
            created_at=now,
            updated_at=now,
        )
        tables.products[product_id] = stored
        return stored

    @write
    def add(self, product: NewProduct) -> Product:
        instance(product, NewProduct, "product")
        with self._tx.writing() as tables:
            return self._new(tables, product)

    @write
    def add_many(self, products: Iterable[NewProduct]) -> int:
        # As on PostgreSQL: whatever the caller's iterable raises, writing() rolls it all back.
        # The rows are taken first, then stored in order: PostgreSQL's COPY draws no id for rows
        # still buffered when the caller's rows fail, and one for each row up to a bad one.
        with self._tx.writing() as tables, self._tx.importing():
            pulled = list(new_products(products))
            for product in pulled:
                self._new(tables, product)
        return len(pulled)

    def get(self, product_id: int) -> Product:
        identifier(product_id, "product_id")
        product = self._tx.read().products.get(product_id)
        if product is None:
            raise ProductNotFound(product_id)
        return product

    def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]:
        wanted = sorted(set(identifiers(product_ids, "product_ids")))
        products = self._tx.read().products
        return {pid: products[pid] for pid in wanted if pid in products}

    def _existing(self, tables: Tables, product_id: int) -> Product:
        product = tables.products.get(product_id)
        if product is None:
            raise ProductNotFound(product_id)
        return product

    def _store(self, tables: Tables, product: Product, **changes: object) -> Product:
        changed = product.model_copy(update={**changes, "updated_at": self._tx.now()})
        tables.products[product.id] = changed
        return changed

    @write
    def update(self, product_id: int, expected_version: int, changes: ProductChanges) -> Product:
        every(
            lambda: identifier(product_id, "product_id"),
            lambda: version(expected_version),
            lambda: instance(changes, ProductChanges, "changes"),
        )
        instance(changes, ProductChanges, "changes")
        with self._tx.writing() as tables:
            product = self._existing(tables, product_id)
            if product.version != expected_version:
                raise ConcurrencyConflict(product_id, expected_version)
            if product.version == INT4_MAX:
                raise InvalidInput("version: out of range")
            return self._store(tables, product, **changes.changed(), version=product.version + 1)

    @write
    def delete(self, product_id: int) -> None:
        identifier(product_id, "product_id")
        with self._tx.writing() as tables:
            product = self._existing(tables, product_id)
            del tables.products[product_id]
            tables.archived_products[product_id] = ArchivedProductRow(product, self._tx.now())
            # As the PostgreSQL adapter's statement does: the product leaves every cart.
            for item in [i for i in tables.items.values() if i.product_id == product_id]:
                cascade.delete(tables, "cart_items", item.id)

    @write
    def restock(self, product_id: int, quantity: int) -> Product:
        every(lambda: identifier(product_id, "product_id"), lambda: valid_quantity(quantity))
        with self._tx.writing() as tables:
            product = self._existing(tables, product_id)
            if product.inventory_count + quantity > INT4_MAX:
                raise InvalidInput("inventory_count: out of range")
            return self._store(tables, product, inventory_count=product.inventory_count + quantity)

    @write
    def reserve(self, product_id: int, quantity: int) -> Product:
        every(lambda: identifier(product_id, "product_id"), lambda: valid_quantity(quantity))
        with self._tx.writing() as tables:
            product = self._existing(tables, product_id)
            if product.inventory_count < quantity:
                raise InsufficientInventory(product_id, quantity, product.inventory_count)
            return self._store(tables, product, inventory_count=product.inventory_count - quantity)

    def search(self, query: ProductQuery) -> Page[ProductSummary]:
        query = product_query(query)
        after = query.after()
        descending = query.sort is ProductSort.NEWEST
        matches = [p for p in self._tx.read().products.values() if query.matches(p)]
        matches.sort(key=lambda p: (sort_key(p, query.sort), p.id), reverse=descending)
        if after is not None:
            matches = [p for p in matches if _past(p, query.sort, after, descending)]
        page = [ProductSummary.of(p) for p in matches[: query.limit]]
        cursor = None
        if len(matches) > query.limit:
            last = page[-1]
            cursor = encode_cursor(query.sort, sort_key(last, query.sort), last.id)
        return Page(items=tuple(page), next_cursor=cursor)


def _past(product: Product, sort: ProductSort, after: tuple[object, int], descending: bool) -> bool:
    """Whether `product` lies strictly past the cursor position in sort order."""
    position = (sort_key(product, sort), product.id)
    return position < after if descending else position > after


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[ProductRepository] = MemoryProductRepository
