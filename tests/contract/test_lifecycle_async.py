"""Contract of the unit of work's lifecycle and of what a failed write undoes, on both adapters:
nothing works before entry or after exit, and a write that raises, for whatever reason, rolls
back everything since the last commit."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, get_type_hints

import pytest

from domain.errors import (
    DomainError,
    InvalidInput,
    RollbackRequired,
    UnitOfWorkBusy,
    UnitOfWorkNotActive,
)
from domain.model import Cart, NewProduct, NewUser, Product, ProductChanges, User
from domain.search import ProductQuery
from ports.unit_of_work_async import AsyncUnitOfWork, AsyncUnitOfWorkFactory, aggregates
from tests.concurrent_async import Barrier, run_all
from tests.contract.helpers_async import add_product, add_user, contract_modules

NEW_USER = NewUser(username="mallory", email="m@example.com", password_hash="h")
NEW_PRODUCT = NewProduct(name="Stray", price=Decimal("1.00"), inventory_count=1)

# Arguments that would work inside the block, by parameter name, else by type: every method of
# every repository port the UnitOfWork port lists is called with them (a parameter of a new type
# fails `port_calls` until an example is added here).
BY_NAME: dict[str, object] = {
    "username": "alice",
    "email": "new@example.com",
    "idempotency_key": "key",
}
BY_TYPE: dict[object, object] = {
    int: 1,
    str: "x",
    NewUser: NEW_USER,
    NewProduct: NEW_PRODUCT,
    ProductChanges: ProductChanges(name="Renamed"),
    ProductQuery: ProductQuery(),
    Iterable[NewProduct]: [NEW_PRODUCT],
    Sequence[int]: [1],
}


def example(name: str, hint: object) -> object:
    if name in BY_NAME:
        return BY_NAME[name]
    if hint not in BY_TYPE:
        raise LookupError(
            f"no example argument for {name}: {hint}; add one to BY_TYPE, or to ARGUMENTS in"
            " the aggregate's contract module"
        )
    return BY_TYPE[hint]


# An aggregate's contract module may give the example arguments of its own types (ARGUMENTS).
for _module in contract_modules():
    BY_TYPE.update(getattr(_module, "ARGUMENTS", {}))


def port_calls() -> dict[tuple[str, str], Callable[[Any], Any]]:
    """(repository, method) -> a call of it on a repository. Parameters with a default keep it,
    but a keyword-only flag is called once more set (`find_for_user[lock]`)."""
    calls: dict[tuple[str, str], Callable[[Any], Any]] = {}
    for repo, port in aggregates().items():
        for name, method in vars(port).items():
            if name.startswith("_") or not callable(method):
                continue
            hints = get_type_hints(method)
            parameters = list(inspect.signature(method).parameters.values())[1:]
            args = {
                p.name: example(p.name, hints[p.name]) for p in parameters if p.default is p.empty
            }
            calls[repo, name] = functools.partial(_call, name, args)
            for p in parameters:
                if p.kind is p.KEYWORD_ONLY and hints[p.name] is bool:
                    flagged = {**args, p.name: not p.default}
                    calls[repo, f"{name}[{p.name}]"] = functools.partial(_call, name, flagged)
    return calls


async def _call(method: str, args: dict[str, object], repository: object) -> object:
    return await getattr(repository, method)(**args)


CALLS = port_calls()
EVERY_CALL = list(CALLS)


def test_every_port_method_is_called() -> None:
    # Derived from the ports: a method added to a port is called by the tests below at once.
    named = {(repo, name.split("[")[0]) for repo, name in CALLS}
    for repo, port in aggregates().items():
        public = {
            name for name, m in vars(port).items() if not name.startswith("_") and callable(m)
        }
        assert {name for r, name in named if r == repo} == public
    assert ("carts", "find_for_user[lock]") in CALLS


async def _fingerprint(
    uow: AsyncUnitOfWorkFactory,
) -> tuple[list[User], tuple[Product, ...], Cart | None]:
    async with uow(read_only=True) as work:
        users = [await work.users.get(1)]
        listed = (await work.products.search(ProductQuery(limit=500))).items
        products = tuple((await work.products.get_many([p.id for p in listed])).values())
        cart = await work.carts.find_for_user(1)
    return (users, products, cart)


async def _shop(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp = await add_user(uow, "alice"), await add_product(uow, inventory=10)
    async with uow() as work:
        cart = await work.carts.get_or_create(alice.id)
        await work.carts.add_item(cart.id, lamp.id, 2)
        await work.commit()


@pytest.mark.parametrize(("repo", "name"), EVERY_CALL)
async def test_repositories_refuse_before_entry_and_after_exit(
    uow: AsyncUnitOfWorkFactory, repo: str, name: str
) -> None:
    await _shop(uow)
    before = await _fingerprint(uow)
    call = CALLS[repo, name]
    work = uow()
    with pytest.raises(UnitOfWorkNotActive):
        await call(getattr(work, repo))
    async with work:
        kept = getattr(work, repo)  # a reference that outlives the block
    with pytest.raises(UnitOfWorkNotActive):
        await call(kept)
    with pytest.raises(UnitOfWorkNotActive):
        await call(getattr(work, repo))
    # The next unit of work (on PostgreSQL, the same pooled connection) commits only its own.
    async with uow() as other:
        await other.products.restock(1, 1)
        await other.commit()
    after = await _fingerprint(uow)
    assert after[0] == before[0]
    assert after[2] == before[2]
    assert [p.inventory_count for p in after[1]] == [p.inventory_count + 1 for p in before[1]]


@pytest.mark.parametrize(("repo", "name"), EVERY_CALL)
async def test_every_port_method_runs_inside_the_block(
    uow: AsyncUnitOfWorkFactory, repo: str, name: str
) -> None:
    # Inside the block every method reaches its data: it returns, or raises an error of its own
    # (a missing row, say), never a refusal of the unit of work.
    await _shop(uow)
    async with uow() as work:
        try:
            await CALLS[repo, name](getattr(work, repo))
        except (UnitOfWorkNotActive, UnitOfWorkBusy, RollbackRequired):
            raise
        except DomainError:
            pass


async def test_commit_rollback_and_reentry_refuse_outside_the_block(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    work = uow()
    for method in (work.commit, work.rollback):
        with pytest.raises(UnitOfWorkNotActive):
            await method()
    async with work:
        with pytest.raises(UnitOfWorkNotActive):
            await work.__aenter__()
    for method in (work.commit, work.rollback):
        with pytest.raises(UnitOfWorkNotActive):
            await method()


async def test_a_stray_write_after_exit_holds_nothing_up(uow: AsyncUnitOfWorkFactory) -> None:
    await _shop(uow)
    async with uow() as work:
        products = work.products
    with pytest.raises(UnitOfWorkNotActive):
        await products.reserve(1, 1)
    started = time.monotonic()
    async with uow() as other:  # a writer right after: no lock was left behind
        await other.products.reserve(1, 1)
        await other.commit()
    print(f"\nnext writer after a refused stray write: {time.monotonic() - started:.4f} s")
    async with uow(read_only=True) as work:
        assert (await work.products.get(1)).inventory_count == 9


# Writes whose arguments are refused before any statement runs: each must still roll back the
# transaction, as every failed write does.
REFUSED: dict[str, Callable[[AsyncUnitOfWork], Any]] = {
    "reserve 0": lambda w: w.products.reserve(1, 0),
    "restock 0": lambda w: w.products.restock(1, 0),
    "reserve -1": lambda w: w.products.reserve(1, -1),
    "add_item 0": lambda w: w.carts.add_item(1, 1, 0),
    "set_quantity 0": lambda w: w.carts.set_quantity(1, 1, 0),
    "add_for_user 0": lambda w: w.carts.add_for_user(1, 1, 0),
    "place bad key": lambda w: w.orders.place(1, ""),
    "change_email bad": lambda w: w.users.change_email(1, "not an address"),
}


@pytest.mark.parametrize("name", list(REFUSED))
async def test_a_refused_write_rolls_back_like_any_failed_write(
    uow: AsyncUnitOfWorkFactory, name: str
) -> None:
    await _shop(uow)
    before = await _fingerprint(uow)
    async with uow() as work:
        await work.products.restock(1, 5)  # uncommitted
        with pytest.raises(InvalidInput):
            await REFUSED[name](work)
        # The restock went with the refused write: committing now would store less than the
        # caller saw succeed, so commit() refuses, naming the write, until the caller rolls back.
        with pytest.raises(RollbackRequired, match=r"\(InvalidInput\)"):
            await work.commit()
        with pytest.raises(RollbackRequired):
            await work.products.restock(1, 1)
        await work.rollback()
        await work.commit()
    assert await _fingerprint(uow) == before


class Boom(Exception):
    """Not a domain error: raised by the caller's own code."""


def _failing_feed() -> Any:
    yield NEW_PRODUCT
    yield NEW_PRODUCT
    raise Boom("the caller's feed broke")


async def test_an_exception_from_the_callers_iterable_rolls_back_and_propagates(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    await _shop(uow)
    before = await _fingerprint(uow)
    async with uow() as work:
        await work.products.restock(1, 5)
        with pytest.raises(Boom):
            await work.products.add_many(_failing_feed())
        with pytest.raises(RollbackRequired, match=r"products\.add_many \(Boom\)"):
            await work.commit()
    assert await _fingerprint(uow) == before
    async with uow() as work:  # the unit of work after it works as usual
        await work.products.add(NEW_PRODUCT)
        await work.commit()
    async with uow(read_only=True) as work:
        assert len((await work.products.search(ProductQuery())).items) == 2


async def _race(
    uow: AsyncUnitOfWorkFactory, user_id: int, product_id: int, workers: int
) -> list[str]:
    """`workers` adds of one unit of the product to the user's cart, let go at once: how each
    ended."""
    gate = Barrier(workers)
    outcomes: list[str] = []

    async def add() -> None:
        await gate.wait()
        try:
            async with uow() as work:
                cart = await work.carts.get_or_create(user_id)
                await work.carts.add_item(cart.id, product_id, 1)
                await work.commit()
            outcomes.append("added")
        except DomainError as exc:
            outcomes.append(type(exc).__name__)

    await run_all([add] * workers)
    return outcomes


async def test_concurrent_adds_never_put_more_than_the_stock_in_a_cart(
    uow: AsyncUnitOfWorkFactory, short_switch_interval: None
) -> None:
    alice = await add_user(uow, "alice")
    trials, threads = 15, 4
    over = 0
    for trial in range(trials):
        product = await add_product(uow, f"Last one {trial}", inventory=1)
        outcomes = await _race(uow, alice.id, product.id, threads)
        async with uow(read_only=True) as work:
            cart = await work.carts.find_for_user(alice.id)
        assert cart is not None
        line = cart.item(product.id)
        assert line is not None
        assert outcomes.count("added") == 1
        over += line.quantity > 1
        assert line.quantity == 1, outcomes
    print(f"\n{trials} trials of {threads} concurrent adds of the last unit: {over} over stock")


async def test_a_unit_of_work_is_entered_once(uow: AsyncUnitOfWorkFactory) -> None:
    """After its block, entering the same unit of work again raises UnitOfWorkNotActive and
    writes nothing: a unit of work is one block, as the port says."""
    work = uow()
    async with work:
        await work.products.add(NEW_PRODUCT)
        await work.commit()
    with pytest.raises(UnitOfWorkNotActive):
        await work.__aenter__()
    with pytest.raises(UnitOfWorkNotActive):
        await work.products.add(NEW_PRODUCT)
    async with uow(read_only=True) as reader:
        assert len((await reader.products.search(ProductQuery())).items) == 1


async def test_leaving_the_block_from_the_callers_iterable_is_busy(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    """`__aexit__` called from inside add_many's iterable (an ExitStack closed there, say) is a
    call on the unit of work like any other: UnitOfWorkBusy, and the import goes on to its
    end; the block then ends as usual, without a commit, so nothing is stored."""
    outcome: list[str] = []
    async with uow() as work:

        def feed() -> Iterator[NewProduct]:
            yield NEW_PRODUCT
            try:
                if True:  # ASYNC
                    # A sync iterable cannot await: run the exit up to its first pause, which
                    # is where a refusal is raised, and no further.
                    leaving = work.__aexit__(None, None, None)
                    try:
                        leaving.send(None)
                    except StopIteration:
                        pass
                    finally:
                        leaving.close()
                else:
                    work.__exit__(None, None, None)
                outcome.append("left")
            except UnitOfWorkBusy:
                outcome.append("busy")
            yield NEW_PRODUCT

        assert await work.products.add_many(feed()) == 2
        assert len((await work.products.search(ProductQuery())).items) == 2  # still in its block
    assert outcome == ["busy"]
    async with uow(read_only=True) as reader:
        assert (await reader.products.search(ProductQuery())).items == ()
