"""The example shop (examples/fastapi_shop) over HTTP on PostgreSQL, in-process with its lifespan
entered: the whole flow, the status of every domain error, checkouts repeated and run at once
with one Idempotency-Key, the README's commands run twice on one database, and no connection
left open once the app stops; and the container's bound on hashing threads, however an
application takes its account services."""

from __future__ import annotations

import asyncio
import shlex
import string
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from dependency_injector import providers
from examples.fastapi_shop.app import create_app, status_for
from fastapi import FastAPI

import domain.errors
from adapters.hashing import InsecureTestHasher
from domain.errors import CommitOutcomeUnknown, DomainError, TransientConflict
from domain.model import Order
from services.carts_async import AsyncCartService
from services.offload import HASHING_THREADS
from shopdb.container import Container, close_async
from shopdb.testing import TestSettings, postgres_container
from tests import pages

README = Path(__file__).parents[2] / "examples" / "fastapi_shop" / "README.md"
PASSWORD = "a long password"


def shop_app(database_url: str, **settings: Any) -> FastAPI:
    """The example app on `database_url`, with the fast test-only hasher."""
    fields = {"backend": "postgres", "DATABASE_URL": database_url, "pool_min_size": 1}
    app = create_app(TestSettings(**{**fields, **settings}))
    container: Container = app.state.container
    container.password_hasher.override(providers.Object(InsecureTestHasher()))
    return app


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app`, started (its lifespan entered) for the block and stopped after it."""
    transport = httpx.ASGITransport(app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://shop") as client,
    ):
        yield client


@pytest_asyncio.fixture
async def client(clean_database: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running(shop_app(clean_database)) as client:
        yield client


async def customer(client: httpx.AsyncClient, name: str = "alice") -> dict[str, str]:
    """Registers and logs in `name`; the headers that name it in later requests."""
    email = f"{name}@example.com"
    body = {"username": name, "email": email, "password": PASSWORD}
    assert (await client.post("/users", json=body)).status_code == 201
    answer = await client.post("/login", json={"login": name, "password": PASSWORD})
    return {"X-User-Id": str(answer.json()["user_id"])}


async def product(client: httpx.AsyncClient, name: str = "Desk lamp", stock: int = 5) -> int:
    body = {"name": name, "price": "19.99", "inventory_count": stock}
    answer = await client.post("/products", json=body)
    assert answer.status_code == 201, answer.text
    product_id: int = answer.json()["id"]
    return product_id


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]


async def test_a_customer_finds_fills_a_cart_checks_out_and_sees_the_order(
    client: httpx.AsyncClient,
) -> None:
    registered = await client.post(
        "/users", json={"username": "alice", "email": "alice@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 201
    assert "password" not in registered.text  # no hash is ever shown
    login = await client.post("/login", json={"login": "alice@example.com", "password": PASSWORD})
    alice = {"X-User-Id": str(login.json()["user_id"])}
    assert login.json()["user_id"] == registered.json()["id"]
    lamp, rug = await product(client, "Desk lamp"), await product(client, "Oak rug", stock=1)
    assert (await client.get(f"/products/{lamp}")).json()["price"] == "19.99"
    found = (await client.get("/products", params={"q": "LAMP", "in_stock_only": True})).json()
    assert [item["id"] for item in found["items"]] == [lamp]

    line = await client.post("/cart/items", json={"product_id": lamp, "quantity": 2}, headers=alice)
    assert (line.status_code, line.json()["line_total"]) == (201, "39.98")
    changed = await client.put(f"/cart/items/{lamp}", json={"quantity": 3}, headers=alice)
    assert changed.json()["quantity"] == 3
    await client.post("/cart/items", json={"product_id": rug}, headers=alice)
    assert (await client.delete(f"/cart/items/{rug}", headers=alice)).status_code == 204
    cart = (await client.get("/cart", headers=alice)).json()
    assert ([item["product_id"] for item in cart["items"]], cart["total"]) == ([lamp], "59.97")

    checkout = await client.post("/checkout", headers={**alice, "Idempotency-Key": "first"})
    order = Order.model_validate(checkout.json())
    assert (checkout.status_code, order.total, len(order.lines)) == (201, Decimal("59.97"), 1)
    assert (await client.get("/cart", headers=alice)).json()["items"] == []
    assert (await client.get(f"/products/{lamp}")).json()["inventory_count"] == 2
    history = (await client.get("/orders", headers=alice)).json()
    assert [o["id"] for o in history["items"]] == [order.id]
    assert (await client.get(f"/orders/{order.id}", headers=alice)).json() == checkout.json()
    assert (await client.get("/ping")).json() == {"ping": "pong"}


async def test_what_is_not_there_is_404(client: httpx.AsyncClient) -> None:
    alice = await customer(client)
    assert error(await client.get("/products/999")) == (404, "ProductNotFound")
    assert error(await client.get("/orders/999", headers=alice)) == (404, "OrderNotFound")
    assert error(await client.delete("/cart/items/1", headers=alice)) == (404, "CartItemNotFound")
    nobody = {"X-User-Id": "999"}
    added = await client.post("/cart/items", json={"product_id": 1}, headers=nobody)
    assert error(added) == (404, "UserNotFound")


async def test_input_that_breaks_a_rule_is_422(client: httpx.AsyncClient) -> None:
    weak = {"username": "bob", "email": "bob@example.com", "password": "short"}
    assert error(await client.post("/users", json=weak)) == (422, "InvalidInput")
    mill = {"name": "Half a cent", "price": "0.005"}  # a third decimal place is no rounding
    assert error(await client.post("/products", json=mill)) == (422, "InvalidInput")
    cursor = await client.get("/products", params={"cursor": "not a cursor"})
    assert error(cursor) == (422, "InvalidInput")


async def test_a_wrong_password_or_an_unknown_user_is_401(client: httpx.AsyncClient) -> None:
    await customer(client)
    wrong = await client.post("/login", json={"login": "alice", "password": "not the password"})
    assert error(wrong) == (401, "AuthenticationFailed")
    nobody = await client.post("/login", json={"login": "nobody", "password": PASSWORD})
    assert error(nobody) == (401, "AuthenticationFailed")


async def test_what_is_taken_or_conflicts_with_the_state_is_409(client: httpx.AsyncClient) -> None:
    alice = await customer(client)
    again = {"username": "alice", "email": "other@example.com", "password": PASSWORD}
    assert error(await client.post("/users", json=again)) == (409, "UsernameTaken")
    same_email = {"username": "alicia", "email": "ALICE@example.com", "password": PASSWORD}
    assert error(await client.post("/users", json=same_email)) == (409, "EmailTaken")
    lamp = await product(client, stock=1)
    too_many = {"product_id": lamp, "quantity": 2}
    added = await client.post("/cart/items", json=too_many, headers=alice)
    assert error(added) == (409, "InsufficientInventory")
    empty = await client.post("/checkout", headers={**alice, "Idempotency-Key": "k"})
    assert error(empty) == (409, "EmptyCart")


async def test_an_unreachable_database_is_503_and_ping_still_answers() -> None:
    # Port 1 refuses every connection: the pool gives up after its timeout.
    nowhere = "postgresql://postgres@127.0.0.1:1/shop"
    async with running(shop_app(nowhere, pool_timeout=0.5)) as client:
        assert (await client.get("/ping")).status_code == 200
        assert error(await client.get("/products/1")) == (503, "StorageUnavailable")


async def connections(database_url: str, application_name: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        )
        row = await cur.fetchone()
    assert row is not None
    count: int = row[0]
    return count


@pytest.mark.needs_session("counts the app's server sessions by their application_name")
async def test_stopping_the_app_closes_its_connections(clean_database: str) -> None:
    app = shop_app(clean_database, application_name="example-shop")
    async with running(app) as client:
        await customer(client)
        assert await connections(clean_database, "example-shop") >= 1
    # A closed connection's server process ends on its own time: a moment, unless it was leaked.
    for _ in range(100):
        if await connections(clean_database, "example-shop") == 0:
            break
        await asyncio.sleep(0.05)
    assert await connections(clean_database, "example-shop") == 0


class FailingCheckout(AsyncCartService):
    """A cart service whose checkout fails as the database can make it fail, on demand."""

    def __init__(self, failure: DomainError) -> None:
        self.failure = failure

    async def checkout(self, user_id: int, idempotency_key: str | None = None) -> Order:
        raise self.failure


@pytest.mark.parametrize(
    ("failure", "retry_after", "advice"),
    [
        (TransientConflict("deadlock detected"), "1", ""),
        (CommitOutcomeUnknown("connection lost during COMMIT"), None, "same Idempotency-Key"),
    ],
)
async def test_a_database_that_failed_the_work_is_503(
    clean_database: str, failure: DomainError, retry_after: str | None, advice: str
) -> None:
    app = shop_app(clean_database)
    container: Container = app.state.container
    container.async_carts.override(providers.Object(FailingCheckout(failure)))
    async with running(app) as client:
        answer = await client.post("/checkout", headers={"X-User-Id": "1", "Idempotency-Key": "k"})
    assert error(answer) == (503, type(failure).__name__)
    assert answer.headers.get("Retry-After") == retry_after
    assert advice in answer.json()["detail"]


def every_subclass(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from every_subclass(sub)


def test_only_misuse_of_a_unit_of_work_is_500() -> None:
    """A domain error added later gets a status of its own here, or is a defect on purpose."""
    defects = {
        domain.errors.TransactionAborted,
        domain.errors.RollbackRequired,
        domain.errors.UnitOfWorkMisuse,
        domain.errors.UnitOfWorkBusy,
        domain.errors.UnitOfWorkNotActive,
        domain.errors.ReadOnlyViolation,
        domain.errors.IdempotencyKeyReused,  # no longer raised
    }
    server_errors = {
        cls
        for cls in every_subclass(DomainError)
        if cls.__module__ == "domain.errors" and status_for(cls) == 500
    }
    assert server_errors == defects


async def test_a_checkout_repeated_with_its_key_answers_the_same_order(
    client: httpx.AsyncClient,
) -> None:
    alice, lamp = await customer(client), await product(client, stock=5)
    await client.post("/cart/items", json={"product_id": lamp, "quantity": 2}, headers=alice)
    first = await client.post("/checkout", headers={**alice, "Idempotency-Key": "k-1"})
    again = await client.post("/checkout", headers={**alice, "Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert (await client.get(f"/products/{lamp}")).json()["inventory_count"] == 3  # sold once
    other_key = await client.post("/checkout", headers={**alice, "Idempotency-Key": "k-2"})
    assert error(other_key) == (409, "EmptyCart")


async def test_concurrent_checkouts_with_one_key_make_one_order(client: httpx.AsyncClient) -> None:
    alice, lamp = await customer(client), await product(client, stock=5)
    await client.post("/cart/items", json={"product_id": lamp, "quantity": 2}, headers=alice)
    headers = {**alice, "Idempotency-Key": "double-click"}
    answers = await asyncio.gather(*(client.post("/checkout", headers=headers) for _ in range(8)))
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len((await client.get("/orders", headers=alice)).json()["items"]) == 1
    assert (await client.get(f"/products/{lamp}")).json()["inventory_count"] == 3


def readme_commands() -> list[str]:
    """The commands of the README's "Try it" block, one a line, without comments."""
    (block,) = [b for b in pages.blocks(README) if b.language == "sh" and "curl -s" in b.body]
    text = block.body.replace("\\\n", " ")
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


async def curl(client: httpx.AsyncClient, arguments: list[str]) -> httpx.Response:
    """What the README's curl command does (-s, -X, -H and -d only), sent to the app."""
    method, headers, data, url = "GET", {}, None, ""
    words = iter(arguments)
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(": ")
            headers[name] = value
        elif word == "-d":
            data = next(words)
        elif word != "-s":
            url = word
    return await client.request(method, url, headers=headers, content=data)


async def run_readme(client: httpx.AsyncClient) -> list[httpx.Response]:
    """Every command of "Try it", as the shell runs it; the answers of its curl commands."""
    variables: dict[str, str] = {}
    answers = []
    for line in readme_commands():
        if line.startswith("json()"):
            continue  # defines the `| json FIELD` that is read below
        name, is_assignment, value = line.partition("=")
        if not (is_assignment and name.isidentifier()):
            name, value = "", line
        captured = value.startswith("$(") and value.endswith(")")  # NAME=$(command)
        command = value.removeprefix("$(").removesuffix(")") if captured else value
        words = shlex.split(string.Template(command).substitute(variables), comments=True)
        if words[0] == "curl":  # curl ..., or curl ... | json FIELD
            pipe = words.index("|") if "|" in words else len(words)
            answers.append(await curl(client, words[1:pipe]))
            result = str(answers[-1].json()[words[pipe + 2]]) if captured else ""
        elif words[0] == "python3":
            code = [sys.executable, *words[1:]]
            result = subprocess.run(code, capture_output=True, text=True, check=True).stdout  # noqa: S603
        else:
            result = command
        if name:
            variables[name] = result.strip()
    return answers


async def test_the_readme_commands_run_twice_on_one_database(clean_database: str) -> None:
    app = shop_app(clean_database)
    for run in (1, 2):  # two starts of the app; the database is not cleaned between them
        async with running(app) as client:
            answers = await run_readme(client)
        registered, *rest = answers
        assert registered.status_code == (201 if run == 1 else 409)
        assert [answer.status_code for answer in rest if answer.status_code >= 400] == []
        first_checkout, second_checkout, history = (a.json() for a in rest[-4:-1])
        assert second_checkout == first_checkout  # one key, one order
        assert len(history["items"]) == run


class PeakCountingHasher(InsecureTestHasher):
    """The fast hasher, made slow enough (in its thread) to count how many hash at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = self.peak = 0

    def hash(self, password: str) -> str:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.05)  # in a hashing thread, never on the event loop
        with self._lock:
            self.running -= 1
        return super().hash(password)


async def test_the_hashing_threads_bound_a_container_however_its_services_are_taken(
    clean_database: str,
) -> None:
    hasher = PeakCountingHasher()
    with postgres_container(clean_database) as container:
        container.password_hasher.override(providers.Object(hasher))
        await asyncio.gather(
            *(
                container.async_accounts().register(f"user{n}", f"user{n}@example.com", PASSWORD)
                for n in range(3 * HASHING_THREADS)
            )
        )
        await close_async(container)
    assert hasher.peak <= HASHING_THREADS
