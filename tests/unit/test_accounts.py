"""Account service on the in-memory adapter."""

from __future__ import annotations

import logging

import pytest

from adapters.hashing import Argon2PasswordHasher
from adapters.memory import MemoryUnitOfWorkFactory
from domain.errors import (
    AuthenticationFailed,
    EmailTaken,
    InvalidInput,
    UsernameTaken,
    UserNotFound,
)
from services import AccountService

PASSWORD = "CANARY-correct-horse"


def test_register_stores_a_hash_never_the_password(uow: MemoryUnitOfWorkFactory) -> None:
    # With the production hasher (cheap parameters): the other tests use the test-only one.
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    user = AccountService(uow, hasher).register("alice", "alice@example.com", PASSWORD)
    with uow(read_only=True) as work:
        stored = work.users.get(user.id)
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert stored.username == "alice"


def test_username_and_email_are_unique_regardless_of_case(accounts: AccountService) -> None:
    accounts.register("alice", "alice@example.com", PASSWORD)
    with pytest.raises(UsernameTaken):
        accounts.register("ALICE", "other@example.com", PASSWORD)
    with pytest.raises(EmailTaken):
        accounts.register("bob", "ALICE@example.com", PASSWORD)


def test_authenticate_by_username_or_email(accounts: AccountService) -> None:
    user = accounts.register("alice", "alice@example.com", PASSWORD)
    assert accounts.authenticate("Alice", PASSWORD).id == user.id
    assert accounts.authenticate("alice@EXAMPLE.com", PASSWORD).id == user.id


@pytest.mark.parametrize("login", ["emil@bücher.de", "EMIL@Bücher.DE", "Emil@xn--bcher-kva.de"])
def test_authenticate_with_an_internationalized_domain(
    accounts: AccountService, login: str
) -> None:
    user = accounts.register("emil", "emil@bücher.de", PASSWORD)
    assert user.email == "emil@xn--bcher-kva.de"
    assert accounts.authenticate(login, PASSWORD).id == user.id
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(login, "wrong password")


@pytest.mark.parametrize(("login", "password"), [("alice", "wrong password"), ("nobody", PASSWORD)])
def test_authentication_failures_say_nothing_more(
    accounts: AccountService, login: str, password: str
) -> None:
    accounts.register("alice", "alice@example.com", PASSWORD)
    with pytest.raises(AuthenticationFailed) as info:
        accounts.authenticate(login, password)
    assert str(info.value) == "unknown user or wrong password"


@pytest.mark.parametrize("password", ["short", "x" * 1025, "pass\x00word-long"])
def test_bad_passwords_are_refused_without_echo(accounts: AccountService, password: str) -> None:
    with pytest.raises(InvalidInput, match="password") as info:
        accounts.register("alice", "alice@example.com", password)
    assert password not in str(info.value)


def test_bad_input_stores_nothing(accounts: AccountService, uow: MemoryUnitOfWorkFactory) -> None:
    with pytest.raises(InvalidInput):
        accounts.register("a", "alice@example.com", PASSWORD)
    with uow() as work, pytest.raises(UserNotFound):
        work.users.get_by_email("alice@example.com")


def test_change_email(accounts: AccountService) -> None:
    alice = accounts.register("alice", "alice@example.com", PASSWORD)
    accounts.register("bob", "bob@example.com", PASSWORD)
    assert accounts.change_email(alice.id, "Alice@Example.com").email == "Alice@example.com"
    with pytest.raises(EmailTaken):
        accounts.change_email(alice.id, "BOB@example.com")
    with pytest.raises(InvalidInput):
        accounts.change_email(alice.id, "not an email")
    with pytest.raises(UserNotFound):
        accounts.change_email(999, "carol@example.com")


def test_the_password_is_never_logged(
    accounts: AccountService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = accounts.register("alice", "alice@example.com", PASSWORD)
    accounts.authenticate("alice", PASSWORD)
    logging.getLogger("test").info("registered %r", user)
    assert PASSWORD not in caplog.text
    assert user.password_hash not in caplog.text


@pytest.mark.parametrize("password", ["long enough \ud800", "\udfff" * 8])
def test_passwords_without_a_utf8_form_are_refused(accounts: AccountService, password: str) -> None:
    with pytest.raises(InvalidInput, match="password: must be valid Unicode text"):
        accounts.register("alice", "alice@example.com", password)
    accounts.register("alice", "alice@example.com", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("alice", password)


@pytest.mark.parametrize("login", [None, 1, b"alice", ["alice"]])
def test_logins_that_are_not_text_fail_like_unknown_ones(
    accounts: AccountService, login: object
) -> None:
    accounts.register("alice", "alice@example.com", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(login, PASSWORD)  # type: ignore[arg-type]
