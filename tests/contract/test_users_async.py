"""Contract of the user repository, held by both adapters."""

from __future__ import annotations

import functools

import pytest

from domain.errors import EmailTaken, InvalidInput, UsernameTaken, UserNotFound
from domain.model import NewUser
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from tests.concurrent_async import Barrier, run_all
from tests.contract.helpers_async import add_user


async def test_add_assigns_identity_ids_and_timestamps(uow: AsyncUnitOfWorkFactory) -> None:
    alice, bob = await add_user(uow, "alice"), await add_user(uow, "bob")
    assert (alice.id, bob.id) == (1, 2)
    assert alice.created_at == alice.updated_at
    assert alice.created_at.tzinfo is not None


async def test_get_returns_what_was_stored(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow, "Alice", "Alice@Example.com")
    async with uow(read_only=True) as work:
        assert await work.users.get(alice.id) == alice
        assert await work.users.get_by_username("aLiCe") == alice
        assert await work.users.get_by_email("ALICE@example.COM") == alice
        stored = await work.users.get(alice.id)
    assert (stored.username, stored.email, stored.password_hash) == (
        "Alice",
        "Alice@example.com",
        "$argon2id$fake",
    )


@pytest.mark.parametrize("key", ["bob", "al", "alice\x00", "ålice", "K" * 3])
async def test_lookups_of_unknown_keys_raise_not_found(
    uow: AsyncUnitOfWorkFactory, key: str
) -> None:
    await add_user(uow, "alice")
    async with uow(read_only=True) as work:
        with pytest.raises(UserNotFound):
            await work.users.get_by_username(key)
        with pytest.raises(UserNotFound):
            await work.users.get_by_email(key + "@example.com")
        with pytest.raises(UserNotFound):
            await work.users.get(99)


async def test_username_and_email_are_unique_case_insensitively(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    await add_user(uow, "alice", "alice@example.com")
    async with uow() as work:
        with pytest.raises(UsernameTaken) as taken:
            await work.users.add(
                NewUser(username="ALICE", email="new@example.com", password_hash="h")
            )
        assert taken.value.username == "ALICE"
        await work.rollback()
        with pytest.raises(EmailTaken):
            await work.users.add(
                NewUser(username="bob", email="Alice@EXAMPLE.com", password_hash="h")
            )
        await work.rollback()
        # Both taken: the username is reported, as PostgreSQL checks that index first.
        with pytest.raises(UsernameTaken):
            await work.users.add(
                NewUser(username="Alice", email="alice@example.com", password_hash="h")
            )
    # Failed inserts used up their ids, as identity columns do.
    assert (await add_user(uow, "carol")).id == 5


async def test_change_email(uow: AsyncUnitOfWorkFactory) -> None:
    alice, bob = await add_user(uow, "alice"), await add_user(uow, "bob")
    async with uow() as work:
        changed = await work.users.change_email(alice.id, "ALICE@example.com")
        assert changed.email == "ALICE@example.com"
        assert changed.updated_at >= alice.updated_at
        await work.commit()
    async with uow() as work:
        with pytest.raises(EmailTaken):
            async with work.savepoint():
                await work.users.change_email(alice.id, "Bob@example.com")
        with pytest.raises(UserNotFound):
            async with work.savepoint():
                await work.users.change_email(99, "x@example.com")
        with pytest.raises(InvalidInput):
            async with work.savepoint():
                await work.users.change_email(bob.id, "nope")
    async with uow(read_only=True) as work:
        assert (await work.users.get(bob.id)).email == "bob@example.com"


async def test_delete(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow, "alice")
    async with uow() as work:
        await work.users.delete(alice.id)
        await work.commit()
    async with uow() as work:
        with pytest.raises(UserNotFound):
            await work.users.get(alice.id)
        with pytest.raises(UserNotFound):
            await work.users.delete(alice.id)
    assert (await add_user(uow, "alice")).id == 2  # archived: the name is free again


@pytest.mark.parametrize(
    "login",
    ["emil@bücher.de", "Emil@BÜCHER.de", "EMIL@xn--bcher-kva.de", "emil@Bücher.DE"],
)
async def test_emails_are_found_in_the_form_they_are_stored_in(
    uow: AsyncUnitOfWorkFactory, login: str
) -> None:
    """An internationalized domain is stored as punycode; a lookup normalizes the same way."""
    emil = await add_user(uow, "emil", "emil@bücher.de")
    assert emil.email == "emil@xn--bcher-kva.de"
    async with uow(read_only=True) as work:
        assert await work.users.get_by_email(login) == emil


@pytest.mark.parametrize(
    "login",
    [
        "emil@",
        "@bücher.de",
        "émil@bücher.de",
        "emil@bücher.de\x00",
        "emil@b\udcfccher.de",
        "x" * 400,
    ],
)
async def test_emails_that_cannot_be_normalized_match_nothing(
    uow: AsyncUnitOfWorkFactory, login: str
) -> None:
    await add_user(uow, "emil", "emil@bücher.de")
    async with uow(read_only=True) as work:
        with pytest.raises(UserNotFound):
            await work.users.get_by_email(login)


@pytest.mark.usefixtures("short_switch_interval")
async def test_concurrent_registrations_of_one_name_or_address_keep_one(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    """The lookup tables' keys hold under concurrency (on a Citus cluster each on the node
    that holds the key): of 8 registrations released together, one of each name or address
    is stored, the others refused by name."""
    start = Barrier(8)
    outcomes: list[object] = []

    async def register(username: str, email: str) -> None:
        await start.wait()
        try:
            async with uow() as work:
                await work.users.add(NewUser(username=username, email=email, password_hash="h"))
                await work.commit()
            outcomes.append("stored")
        except (UsernameTaken, EmailTaken) as exc:
            outcomes.append(type(exc))

    same_email = [(f"shopper{n}", f"{'SHOP' if n % 2 else 'shop'}@example.com") for n in range(8)]
    await run_all([functools.partial(register, *pair) for pair in same_email])
    assert sorted(map(str, outcomes)) == sorted(map(str, ["stored"] + [EmailTaken] * 7))
    outcomes.clear()
    await start.reset()
    same_name = [("Buyer" if n % 2 else "buyer", f"buyer{n}@example.com") for n in range(8)]
    await run_all([functools.partial(register, *pair) for pair in same_name])
    assert sorted(map(str, outcomes)) == sorted(map(str, ["stored"] + [UsernameTaken] * 7))
    async with uow(read_only=True) as work:
        assert (await work.users.get_by_email("shop@example.com")).username.startswith("shopper")
        assert (await work.users.get_by_username("BUYER")).email.startswith("buyer")
