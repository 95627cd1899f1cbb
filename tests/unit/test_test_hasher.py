"""The test-only hasher: fast, still a real check of the password, and refused by the
production settings however an application could come to be given it."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers

from adapters.hashing import Argon2PasswordHasher, InsecureTestHasher
from domain.errors import UserNotFound
from shopdb.container import Container
from shopdb.settings import Backend, InsecureHasherRefused, Settings, load_settings
from shopdb.testing import TestSettings, memory_container

PASSWORD = "a long password"  # pragma: allowlist secret


def test_it_verifies_the_right_password_only() -> None:
    hasher = InsecureTestHasher()
    stored = hasher.hash(PASSWORD)
    assert hasher.verify(stored, PASSWORD)
    for other in ("a long passwore", "A long password", "a long password ", "", "a long"):
        assert not hasher.verify(stored, other)
    assert PASSWORD not in stored
    assert len(stored) <= 255
    assert not hasher.needs_rehash(stored)


def test_it_hashes_non_ascii_passwords_as_utf8() -> None:
    hasher = InsecureTestHasher()
    stored = hasher.hash("pässwörd-İstanbul-ß")
    assert hasher.verify(stored, "pässwörd-İstanbul-ß")
    assert not hasher.verify(stored, "passwörd-İstanbul-ß")


def test_each_hash_has_its_own_salt() -> None:
    hasher = InsecureTestHasher()
    first, second = hasher.hash(PASSWORD), hasher.hash(PASSWORD)
    assert first != second
    assert hasher.verify(first, PASSWORD)
    assert hasher.verify(second, PASSWORD)


def test_a_foreign_or_tampered_hash_verifies_nothing() -> None:
    hasher = InsecureTestHasher()
    stored = hasher.hash(PASSWORD)
    prefix, salt, digest = stored.rsplit("$", 2)
    flipped = ("0" if digest[0] != "0" else "1") + digest[1:]
    for other in (f"{prefix}${salt}${flipped}", f"{prefix}${salt[::-1]}${digest}"):
        assert not hasher.verify(other, PASSWORD), other  # another digest, another salt
    for bad in (
        Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD),
        f"{prefix}${salt}${digest[:-1]}",  # truncated
        f"{prefix}${salt}${digest.upper()}",  # not the hex it writes
        stored.replace("$insecure-test$", "$other$"),
        "",
        "$insecure-test$",
    ):
        assert not hasher.verify(bad, PASSWORD), bad
        assert hasher.needs_rehash(bad), bad


def test_the_production_hasher_never_accepts_a_test_hash() -> None:
    # A test's hash that reached a real database (a fixture dump, a test pointed at it): no
    # login with it succeeds, and it is due for a real hash.
    stored = InsecureTestHasher().hash(PASSWORD)
    production = Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    assert not production.verify(stored, PASSWORD)
    assert production.needs_rehash(stored)


def _with_test_hasher(settings: Settings) -> Container:
    container = Container(settings=settings)
    container.password_hasher.override(providers.Object(InsecureTestHasher()))
    return container


def test_the_production_settings_refuse_the_test_hasher() -> None:
    # An override copied from a test into the application, say.
    container = _with_test_hasher(Settings(backend=Backend.MEMORY))
    try:
        with pytest.raises(InsecureHasherRefused, match="for tests only"):
            container.accounts()
        with pytest.raises(InsecureHasherRefused):
            container.permitted_password_hasher()
        with pytest.raises(InsecureHasherRefused):
            container.accounts().register("alice", "alice@example.com", PASSWORD)
        with container.unit_of_work()(read_only=True) as uow, pytest.raises(UserNotFound):
            uow.users.get(1)  # nothing stored
    finally:
        container.shutdown_resources()


def test_no_variable_or_dotenv_line_switches_testing_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SHOPDB_TESTING=true\nTESTING=true\n")
    monkeypatch.setenv("SHOPDB_TESTING", "true")
    monkeypatch.setenv("SHOPDB_BACKEND", "memory")
    settings = load_settings()
    assert not settings.testing
    with pytest.raises(InsecureHasherRefused):
        _with_test_hasher(settings).accounts()
    assert not load_settings(testing=True).testing


def test_test_settings_alone_keep_argon2() -> None:
    container = Container(settings=TestSettings(backend=Backend.MEMORY))
    # TestSettings only admit the test hasher: by themselves they change nothing.
    assert isinstance(container.permitted_password_hasher(), Argon2PasswordHasher)


def test_the_test_settings_accept_it() -> None:
    with memory_container() as container:
        accounts = container.accounts()
        alice = accounts.register("alice", "alice@example.com", PASSWORD)
        assert accounts.authenticate("alice@example.com", PASSWORD) == alice
        with container.unit_of_work()(read_only=True) as uow:
            assert uow.users.get(alice.id).password_hash.startswith("$insecure-test$")
