"""A small shop over HTTP on shopdb's async services: the container is wired in the app's
lifespan, and every domain error becomes an HTTP status in one exception handler.

Identity is trivial on purpose: login answers the user's id, and a request names its user in
the `X-User-Id` header. There are no sessions or tokens, and creating products needs no admin:
this shows the persistence layer, not authentication, which a real shop adds here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from dependency_injector import providers
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from domain import errors
from domain.model import Cart, CartItem, Order, Product, ProductSummary, User
from domain.search import Page
from services.accounts_async import AsyncAccountService
from services.carts_async import AsyncCartService
from services.catalog_async import AsyncCatalogService
from services.orders_async import AsyncOrderService
from shopdb.container import Container, close_async
from shopdb.settings import Settings, load_settings

# The status of a domain error is that of its class or of its nearest base listed here.
STATUS: dict[type[errors.DomainError], int] = {
    errors.NotFound: 404,  # user, product, cart item, order
    errors.InvalidInput: 422,
    errors.AuthenticationFailed: 401,
    errors.UsernameTaken: 409,
    errors.EmailTaken: 409,
    errors.ConcurrencyConflict: 409,
    errors.InsufficientInventory: 409,
    errors.CartFull: 409,
    errors.EmptyCart: 409,
    errors.TransientConflict: 503,  # the service retried already
    errors.StorageUnavailable: 503,  # CommitOutcomeUnknown too
    # The rest (a unit of work misused, ...) are defects of the application, not the client's.
    errors.DomainError: 500,
}


def status_for(error: type[errors.DomainError]) -> int:
    for cls in error.__mro__:
        if issubclass(cls, errors.DomainError) and cls in STATUS:
            return STATUS[cls]
    raise AssertionError("DomainError is in STATUS")


async def domain_error(request: Request, exc: errors.DomainError) -> JSONResponse:
    """The error's class and message: shopdb's messages are safe to show (one line, bounded)."""
    detail, headers = str(exc), {}
    if isinstance(exc, errors.TransientConflict):
        headers["Retry-After"] = "1"
    if isinstance(exc, errors.CommitOutcomeUnknown):
        detail += (
            " (the change may or may not have been stored: read before repeating it; repeat a"
            " checkout with the same Idempotency-Key, which never sells twice)"
        )
    body = {"error": type(exc).__name__, "detail": detail}
    return JSONResponse(body, status_code=status_for(type(exc)), headers=headers)


@dataclass(frozen=True)
class Shop:
    """The services the routes use, taken from the container once, at startup."""

    accounts: AsyncAccountService
    catalog: AsyncCatalogService
    carts: AsyncCartService
    orders: AsyncOrderService


def started_shop(request: Request) -> Shop:
    shop: Shop = request.app.state.shop
    return shop


Services = Annotated[Shop, Depends(started_shop)]
UserId = Annotated[int, Header(alias="X-User-Id", description="the id that login answered")]
router = APIRouter()


class Registration(BaseModel):
    username: str
    email: str
    password: str


class Login(BaseModel):
    login: str  # a username or an email
    password: str


class ProductFields(BaseModel):
    name: str
    price: str  # "19.99": money is never a float
    description: str | None = None
    inventory_count: int = 0


class CartLine(BaseModel):
    product_id: int
    quantity: int = 1


class NewQuantity(BaseModel):
    quantity: int


@router.post("/users", status_code=201)
async def register(body: Registration, shop: Services) -> User:
    # The password hash is never shown: User excludes it from every dump.
    return await shop.accounts.register(body.username, body.email, body.password)


@router.post("/login")
async def login(body: Login, shop: Services) -> dict[str, int]:
    user = await shop.accounts.authenticate(body.login, body.password)
    return {"user_id": user.id}


@router.post("/products", status_code=201)
async def create_product(body: ProductFields, shop: Services) -> Product:
    return await shop.catalog.create_product(
        body.name, body.price, body.description, body.inventory_count
    )


@router.get("/products/{product_id}")
async def get_product(product_id: int, shop: Services) -> Product:
    return await shop.catalog.get_product(product_id)


@router.get("/products")
async def search(
    shop: Services,
    q: str | None = None,
    min_price: str | None = None,
    max_price: str | None = None,
    in_stock_only: bool = False,
    sort: str = "name",
    limit: int = 20,
    cursor: str | None = None,
) -> Page[ProductSummary]:
    """A page of products; pass `next_cursor` back as `cursor` for the next one."""
    return await shop.catalog.search(
        q,
        min_price=min_price,
        max_price=max_price,
        in_stock_only=in_stock_only,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


@router.get("/cart")
async def view_cart(user_id: UserId, shop: Services) -> Cart | None:
    """The cart at today's prices; null when the user never had one."""
    return await shop.carts.view_cart(user_id)


@router.post("/cart/items", status_code=201)
async def add_to_cart(body: CartLine, user_id: UserId, shop: Services) -> CartItem:
    return await shop.carts.add_to_cart(user_id, body.product_id, body.quantity)


@router.put("/cart/items/{product_id}")
async def change_quantity(
    product_id: int, body: NewQuantity, user_id: UserId, shop: Services
) -> CartItem:
    return await shop.carts.change_quantity(user_id, product_id, body.quantity)


@router.delete("/cart/items/{product_id}", status_code=204)
async def remove_from_cart(product_id: int, user_id: UserId, shop: Services) -> None:
    await shop.carts.remove_from_cart(user_id, product_id)


@router.post("/checkout", status_code=201)
async def checkout(
    user_id: UserId, shop: Services, idempotency_key: Annotated[str, Header()]
) -> Order:
    """The client draws the key (a UUID) and keeps it until it has an answer: a repeat with it,
    after a timeout or a 503, answers the same order and sells nothing twice."""
    return await shop.carts.checkout(user_id, idempotency_key)


@router.get("/orders")
async def order_history(
    user_id: UserId, shop: Services, limit: int = 20, cursor: str | None = None
) -> Page[Order]:
    """Newest first; pass `next_cursor` back as `cursor` for older ones."""
    return await shop.orders.order_history(user_id, limit=limit, cursor=cursor)


@router.get("/orders/{order_id}")
async def get_order(order_id: int, user_id: UserId, shop: Services) -> Order:
    return await shop.orders.get_order(user_id, order_id)


@router.get("/ping")
async def ping() -> dict[str, str]:
    """Answers at once, touching nothing: how long it takes is how late the event loop runs."""
    return {"ping": "pong"}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The shop on `settings`, or on the environment's, read as the app starts (not at import).
    Its container is `app.state.container`: a test overrides providers there before starting."""
    # Without settings, the container reads them when the lifespan first asks for a service.
    container = Container(
        settings=providers.Singleton(load_settings) if settings is None else settings
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Taken once, not per request: the account service keeps the threads that hash
        # passwords off the event loop. The async pool opens at the first unit of work.
        app.state.shop = Shop(
            accounts=container.async_accounts(),
            catalog=container.async_catalog(),
            carts=container.async_carts(),
            orders=container.async_orders(),
        )
        try:
            yield
        finally:
            await close_async(container)

    app = FastAPI(title="shopdb example shop", lifespan=lifespan)
    app.state.container = container
    app.include_router(router)
    # Starlette types a handler as taking any Exception; this one is registered for DomainError.
    app.add_exception_handler(errors.DomainError, domain_error)  # type: ignore[arg-type]
    return app


# `uvicorn examples.fastapi_shop.app:app`: settings from the environment (DATABASE_URL, ...).
app = create_app()
