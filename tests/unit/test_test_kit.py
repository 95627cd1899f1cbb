"""The pytest plugin where a user's install lacks what a fixture needs: the run stops with one
line saying what to install or set, and the fixtures that need nothing more still work."""

from __future__ import annotations

import pytest

NEEDS_A_SERVER = """
def test_on_the_fakes(shopdb_memory_container):
    assert shopdb_memory_container.pool() is None


def test_on_postgres(shopdb_postgres_container):
    pass
"""


def test_no_server_and_no_embedded_extra_stops_the_run_with_one_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("DATABASE_URL", "SHOPDB_TEST_DATABASE_URL", "SHOPDB_TEST_ADMIN_URL"):
        monkeypatch.delenv(variable, raising=False)
    # As if shopdb[embedded] were not installed (pytester restores sys.modules afterwards).
    pytester.makeconftest("import sys\nsys.modules['shopdb.embedded'] = None\n")
    pytester.makepyfile(test_shop=NEEDS_A_SERVER)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*no test database: set DATABASE_URL*shopdb[[]embedded[]]*"])
    assert "Traceback" not in result.stdout.str()
    result.assert_outcomes(passed=1)  # the test on the fakes ran first
