"""The pytest plugin as a user meets it: a test file of theirs, run by pytest (pytester), with
the fixtures on the fakes and on a throwaway database of the same server as this session."""

from __future__ import annotations

import psycopg
import pytest

USER_TESTS = """
import pytest

from adapters.hashing import InsecureTestHasher
from domain.errors import AuthenticationFailed


def register_alice(container):
    accounts = container.accounts()
    alice = accounts.register("alice", "alice@example.com", "a long password")
    with container.unit_of_work()(read_only=True) as uow:
        stored = uow.users.get(alice.id).password_hash
    assert stored.startswith("$insecure-test$")  # the fast hasher, not Argon2
    assert accounts.authenticate("alice", "a long password") == alice
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("alice", "another password")
    return alice


# Twice each: the same username again would be UsernameTaken if a test saw the one before.
@pytest.mark.parametrize("run", [1, 2])
def test_on_the_fakes(shopdb_memory_container, run):
    assert register_alice(shopdb_memory_container).id == 1


@pytest.mark.parametrize("run", [1, 2])
def test_on_postgres(shopdb_postgres_container, run):
    assert shopdb_postgres_container.pool() is not None  # really PostgreSQL
    assert register_alice(shopdb_postgres_container).id == 1  # tables emptied, ids restarted
    lamp = shopdb_postgres_container.catalog().create_product("Lamp", "9.99", inventory_count=1)
    carts = shopdb_postgres_container.carts()
    carts.add_to_cart(user_id=1, product_id=lamp.id)
    assert carts.checkout(user_id=1, idempotency_key="k").total == lamp.price


def test_the_hasher(shopdb_hasher):
    assert isinstance(shopdb_hasher, InsecureTestHasher)
"""
# Tells the outer test which database the inner session used (its cwd is pytester's folder).
RECORD_DATABASE = """
import pathlib
from urllib.parse import urlsplit

import pytest


@pytest.fixture(autouse=True)
def record(shopdb_database_url):
    # The path, whatever follows: the embedded server's URL ends in ?host=<its socket folder>.
    pathlib.Path("database").write_text(urlsplit(shopdb_database_url).path.lstrip("/"))
"""


def _recorded(pytester: pytest.Pytester) -> str:
    name = (pytester.path / "database").read_text()
    assert name.startswith("shopdb_test_")
    return name


def _databases(admin_url: str) -> set[str]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_a_users_tests_run_on_the_fakes_and_on_a_dropped_database(
    pytester: pytest.Pytester, same_server: str
) -> None:
    pytester.makeconftest(RECORD_DATABASE)
    pytester.makepyfile(test_shop=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    # The session's database was made on this server, and dropped at its end.
    assert _recorded(pytester) not in _databases(same_server)


def test_a_failing_user_test_still_drops_the_database(
    pytester: pytest.Pytester, same_server: str
) -> None:
    pytester.makeconftest(RECORD_DATABASE)
    pytester.makepyfile(
        test_fails="def test_it(shopdb_postgres_container):\n    assert False, 'on purpose'\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert _recorded(pytester) not in _databases(same_server)


def test_without_the_migrations_extra_the_run_stops_with_one_line(
    pytester: pytest.Pytester, same_server: str
) -> None:
    # As if shopdb[migrations] were not installed (pytester restores sys.modules afterwards).
    pytester.makeconftest("import sys\nsys.modules['shopdb.migrations'] = None\n")
    pytester.makepyfile(test_it="def test_it(shopdb_postgres_container):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*the test database is migrated with shopdb[[]migrations[]]*"])
    assert "Traceback" not in result.stdout.str()
