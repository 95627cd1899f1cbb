"""Settings: environment and .env, secret redaction, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopdb.settings import Backend, SettingsError, load_settings, redact_url

CANARY = "canary-pw-7d2e"
URL = f"postgresql://shop:{CANARY}@db.example:5433/shop"


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", URL)
    monkeypatch.setenv("SHOPDB_POOL_MAX_SIZE", "25")
    monkeypatch.setenv("SHOPDB_BACKEND", "memory")
    settings = load_settings()
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == URL
    assert (settings.pool_max_size, settings.backend) == (25, Backend.MEMORY)


def test_reads_a_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"DATABASE_URL={URL}\nSHOPDB_STATEMENT_TIMEOUT_MS=1500\n")
    settings = load_settings()
    assert settings.statement_timeout_ms == 1500
    assert settings.redacted_database_url() == "postgresql://shop:***@db.example:5433/shop"


def test_the_password_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", URL)
    settings = load_settings()
    for shown in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
    ):
        assert CANARY not in shown


def test_errors_are_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"mysql://shop:{CANARY}@db/shop")
    monkeypatch.setenv("SHOPDB_POOL_TIMEOUT", "-1")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message
    assert "DATABASE_URL: must be a postgresql://" in message
    assert "SHOPDB_POOL_TIMEOUT: Input should be greater than 0" in message
    assert CANARY not in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:p@h:1/d", "postgresql://u:***@h:1/d"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
        ("postgresql:///d?host=/tmp", "postgresql:///d?host=/tmp"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_pool_sizes_are_checked_against_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPDB_POOL_MIN_SIZE", "5")
    monkeypatch.setenv("SHOPDB_POOL_MAX_SIZE", "2")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == (
        "invalid setting: SHOPDB_POOL_MIN_SIZE (5) must not exceed SHOPDB_POOL_MAX_SIZE (2)"
    )
    monkeypatch.setenv("SHOPDB_POOL_MAX_SIZE", "5")
    assert load_settings().pool_min_size == 5


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://shop:{CANARY}/x@db.example:5432/shop",  # an unencoded / in the password
        f"postgresql://shop:{CANARY}@db.example:54x2/shop",
        f"postgresql://shop:{CANARY}@db.example:99999/shop",
        # bad percent-encoding:
        f"postgresql://shop:{CANARY}%zz@db.example/shop",  # pragma: allowlist secret
        f"postgresql://shop:{CANARY}@[db.example/shop",
        "postgresql://shop:7231/canary-pw-7d2e@db.example/shop",  # reads as port 7231
    ],
)
def test_an_unparseable_url_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("invalid setting: DATABASE_URL: cannot be parsed as a URL")
    assert "\n" not in message
    assert CANARY not in message
    assert CANARY not in redact_url(url)


def test_an_encoded_password_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://shop:a%2Fb%40c@db.example:5432/shop"  # pragma: allowlist secret
    monkeypatch.setenv("DATABASE_URL", url)
    assert load_settings().redacted_database_url() == "postgresql://shop:***@db.example:5432/shop"


def test_an_unencoded_at_in_the_password_says_to_percent_encode_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # libpq splits at the first @: it would look up host "7d2e@db.example", quoting part of
    # the password in its error.
    unencoded = "postgresql://shop:canary-pw@7d2e@db.example:5432/shop"  # pragma: allowlist secret
    monkeypatch.setenv("DATABASE_URL", unencoded)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("invalid setting: DATABASE_URL: has an @ in the user name or")
    assert "percent-encode it as %40" in message
    assert "canary" not in message
    assert "7d2e" not in message
    encoded = "postgresql://shop:canary-pw%407d2e@db.example:5432/shop"  # pragma: allowlist secret
    monkeypatch.setenv("DATABASE_URL", encoded)
    assert load_settings().redacted_database_url() == "postgresql://shop:***@db.example:5432/shop"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shopdb.settings"]


@pytest.mark.parametrize(
    ("misspelt", "meant"),
    [
        ("SHOPDB_POOL_MAXSIZE", "SHOPDB_POOL_MAX_SIZE"),
        ("SHOPDB_BACKND", "SHOPDB_BACKEND"),
        ("shopdb_statement_timeout", "SHOPDB_STATEMENT_TIMEOUT_MS"),
        ("SHOPDB_CONNECT_ON_STARTUP", "SHOPDB_CONNECT_ON_START"),
    ],
)
def test_a_misspelt_variable_is_a_warning_naming_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, misspelt: str, meant: str
) -> None:
    monkeypatch.setenv(misspelt, CANARY)
    with caplog.at_level("WARNING", logger="shopdb.settings"):
        load_settings()
    assert _warnings(caplog) == [
        f"{misspelt} is not a setting and is ignored: did you mean {meant}?"
    ]


def test_a_misspelt_variable_in_dotenv_is_a_warning_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"SHOPDB_POOL_TIMOUT=3\nDATABASE_URL={URL}\n")
    with caplog.at_level("WARNING", logger="shopdb.settings"):
        settings = load_settings()
    assert settings.pool_timeout == 10.0  # ignored, as the warning says
    assert _warnings(caplog) == [
        "SHOPDB_POOL_TIMOUT is not a setting and is ignored: did you mean SHOPDB_POOL_TIMEOUT?"
    ]


def test_known_variables_in_any_case_and_the_suites_own_are_no_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("shopdb_pool_lifo", "false")
    monkeypatch.setenv("SHOPDB_MIGRATION_DATABASE_URL", URL)
    monkeypatch.setenv("SHOPDB_STATEFUL", "long")
    with caplog.at_level("WARNING", logger="shopdb.settings"):
        assert load_settings().pool_lifo is False
    assert _warnings(caplog) == []


def test_a_hostile_variable_name_is_shown_escaped_and_its_value_never(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SHOPDB_X\x1b[2J" + "Y" * 200, CANARY)
    with caplog.at_level("WARNING", logger="shopdb.settings"):
        load_settings()
    (line,) = _warnings(caplog)
    assert "\x1b" not in line
    assert len(line) < 200
    assert CANARY not in line


def test_replica_urls_are_read_in_order_and_stay_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    second = "postgresql://shop@r2.example:5432,r3.example:5432/shop"
    monkeypatch.setenv("SHOPDB_REPLICA_URLS", f" {URL}\n{second} ")
    settings = load_settings()
    assert settings.replicas() == [URL, second]
    assert CANARY not in repr(settings)
    monkeypatch.setenv("SHOPDB_REPLICA_URLS", "")
    assert load_settings().replicas() == []


@pytest.mark.parametrize(
    "bad", ["mysql://r1/shop", f"{URL} http://r2/shop", "postgresql://a:b/c@d"]
)
def test_a_replica_url_that_is_not_postgres_is_refused(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("SHOPDB_REPLICA_URLS", bad)
    with pytest.raises(SettingsError, match="SHOPDB_REPLICA_URLS") as caught:
        load_settings()
    assert CANARY not in str(caught.value)


def test_a_multi_host_url_is_taken_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://shop:{CANARY}@h1:5432,h2:5433/shop?target_session_attrs=read-write"
    monkeypatch.setenv("DATABASE_URL", url)
    assert load_settings().redacted_database_url() == url.replace(CANARY, "***")
    assert redact_url(url.replace("5433", "54x3")) == "<unparseable URL>"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        (
            "postgresql://u@h1:5432,h2:5433/db?target_session_attrs=read-write",
            "postgresql+psycopg://u@/db?target_session_attrs=read-write&host=h1:5432&host=h2:5433",
        ),
        ("postgres://h1,h2/db", "postgresql+psycopg:///db?host=h1&host=h2"),
    ],
)
def test_migrations_take_a_multi_host_url_as_sqlalchemy_spells_it(url: str, expected: str) -> None:
    from shopdb.migrations import sqlalchemy_url

    assert sqlalchemy_url(url) == expected
