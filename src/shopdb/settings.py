"""Settings from the environment and an optional `.env` file; the database password stays secret."""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ClassVar, Self
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit, urlunsplit

import psycopg
from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger("shopdb.settings")


class Backend(StrEnum):
    POSTGRES = "postgres"
    MEMORY = "memory"


class Pooler(StrEnum):
    """What stands between shopdb and PostgreSQL: nothing, or a pooler in transaction mode."""

    NONE = "none"
    TRANSACTION = "transaction"


class SettingsError(Exception):
    """Settings could not be read; the message is one line and names the variable."""


class UnencodedAt(ValueError):
    """More than one @ before the host: one of them belongs to the user name or password."""


class InsecureHasherRefused(SettingsError):
    """The container was given the test-only password hasher with production settings."""


def _split(url: str) -> SplitResult:
    """The URL's parts, or ValueError when a character that should have been percent-encoded
    moved part of the password elsewhere: an unencoded / ends the netloc inside the password
    ("user:pa/ss@host" reads as host "user" and port "pa", with "ss@host" in the path)."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    # libpq's multi-host form (failover): "h1:5432,h2:5432"; each port must be a number.
    for host in hosts.split(","):
        urlsplit(f"//{host}").port  # noqa: B018 - raises ValueError for a port not a number
    # An @ that a / or ? in the password moved out of the netloc: in the path, or at the start
    # of the query before any "=" ("user:pa?ss@host"). One in a parameter's value is fine.
    query_at = "@" in parts.query and "=" not in parts.query.partition("@")[0]
    if "@" in parts.path + parts.fragment or query_at:
        raise ValueError("@ after the host")
    if parts.netloc.count("@") > 1:
        # urllib splits at the last @, libpq at the first: "user:pa@ss@host" would connect to
        # host "ss@host" (and name part of the password in its "failed to resolve" error).
        raise UnencodedAt
    return parts


_PASSWORD_PARAMETER = re.compile(r"(^|&)(password=)([^&]*)")


def redact_url(url: str) -> str:
    """The URL with any password (in the netloc, or a `password` parameter) replaced by `***`,
    safe for logs and error messages."""
    try:
        parts = _split(url)
        query = _PASSWORD_PARAMETER.sub(r"\1\2***", parts.query)
        if not parts.password:
            return urlunsplit(parts._replace(query=query)) if query != parts.query else url
        user = parts.username or ""
        hosts = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "<unparseable URL>"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hosts}", query=query))


def url_secrets(url: str) -> set[str]:
    """Every password the URL holds, as written and as libpq reads it (percent-decoded): what
    a message quoting libpq must not show."""
    parts = urlsplit(url)
    found = [parts.password or ""]
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "password"]
    found += [m.group(3) for m in _PASSWORD_PARAMETER.finditer(parts.query)]
    return {secret for raw in found if raw for secret in (raw, unquote(raw))}


PositiveSeconds = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    """Everything shopdb reads from its environment. Field `x` is variable `SHOPDB_X`, but
    `DATABASE_URL` is read as is."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPDB_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    # Whether the container accepts the test-only password hasher. A class attribute, not a
    # field: no variable or .env line can turn it on; only shopdb.testing.TestSettings has it.
    testing: ClassVar[bool] = False

    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    # Migrations and other schema work connect here, past any pooler (they take session-level
    # advisory locks and set lock_timeout); unset: DATABASE_URL.
    migration_database_url: SecretStr | None = None
    backend: Backend = Backend.POSTGRES
    pooler: Pooler = Pooler.NONE
    log_level: str = "WARNING"

    pool_min_size: Annotated[int, Field(ge=0)] = 2
    pool_max_size: Annotated[int, Field(ge=1)] = 10
    pool_timeout: PositiveSeconds = 10.0
    pool_max_waiting: Annotated[int, Field(ge=0)] = 0
    pool_max_idle: PositiveSeconds = 600.0
    pool_max_lifetime: PositiveSeconds = 3600.0
    pool_reconnect_timeout: PositiveSeconds = 300.0
    pool_lifo: bool = True
    # True: init_resources() waits for the pool's first connection and raises
    # StorageUnavailable within pool_timeout when there is none, so an application can fail
    # at startup; false: it returns at once and the first unit of work connects.
    connect_on_start: bool = False
    application_name: str = "shopdb"
    statement_timeout_ms: Annotated[int, Field(ge=0)] = 10_000
    idle_in_transaction_timeout_ms: Annotated[int, Field(ge=0)] = 5_000
    connect_timeout: Annotated[int, Field(ge=2, le=3600)] = 5
    deadline_margin_ms: Annotated[int, Field(ge=0)] = 2_000
    # A statement (or, with DEBUG off, a call) slower than this is logged as a WARNING; 0: never.
    slow_statement_ms: Annotated[int, Field(ge=0)] = 500
    # Spans and metrics through the OpenTelemetry API's global providers (the `otel` extra).
    opentelemetry: bool = False
    migration_lock_timeout_ms: Annotated[int, Field(ge=0)] = 5_000
    migration_wait_timeout_ms: Annotated[int, Field(ge=0)] = 60_000
    # Without DATABASE_URL: true starts the per-user embedded server (the `embedded` extra),
    # false refuses. Unset means false for an application; the command line takes it as true.
    embedded: bool | None = None
    embedded_data_dir: str | None = None

    # With a DATABASE_URL naming several hosts (failover): a failed connection attempt is made
    # again every 50 ms for this long, so that a standby is used as soon as it is promoted.
    failover_connect_retry_ms: Annotated[int, Field(ge=0)] = 5_000

    # Streaming replicas for read-only units of work: URLs separated by spaces (a URL may name
    # several hosts with commas). Unset: every unit of work runs on DATABASE_URL's server.
    replica_urls: SecretStr | None = None
    # A replica further behind than this serves no read (skipped until retry_ms has passed).
    replica_max_lag_ms: Annotated[int, Field(ge=0)] = 5_000
    # A read after a commit waits this long for a replica to replay it, then reads the primary.
    replica_wait_ms: Annotated[int, Field(ge=0)] = 50
    # A replica gets this long to hand out a connection and answer the lag check, else skipped.
    replica_deadline_ms: Annotated[int, Field(ge=1)] = 500
    replica_retry_ms: Annotated[int, Field(ge=0)] = 1_000
    # Off: replicas ignore causal tokens (reads may miss the caller's own last commit).
    read_your_writes: bool = True

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _postgres_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        scheme = raw.split("://", 1)[0] if "://" in raw else ""
        if scheme not in {"postgres", "postgresql", "postgresql+psycopg"}:
            raise ValueError("must be a postgresql://user:password@host:port/dbname URL")
        url = raw.replace("postgresql+psycopg://", "postgresql://", 1)
        _parseable(url)
        return SecretStr(url)

    @field_validator("replica_urls")
    @classmethod
    def _replica_schemes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        urls = [cls._postgres_scheme(SecretStr(url)) for url in value.get_secret_value().split()]
        return SecretStr(" ".join(url.get_secret_value() for url in urls if url is not None))

    def replicas(self) -> list[str]:
        """The replica URLs, in the order given."""
        if self.replica_urls is None:
            return []
        return self.replica_urls.get_secret_value().split()

    @model_validator(mode="after")
    def _pool_sizes(self) -> Self:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError(
                f"SHOPDB_POOL_MIN_SIZE ({self.pool_min_size}) must not exceed"
                f" SHOPDB_POOL_MAX_SIZE ({self.pool_max_size})"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    def with_embedded_default(self) -> Settings:
        """These settings, with SHOPDB_EMBEDDED taken as true when it is not set: the default of
        the command line, the demo and the tests, which must work with no configuration."""
        if self.embedded is not None:
            return self
        return self.model_copy(update={"embedded": True})

    def migration_url(self, database_url: str) -> str:
        """Where schema work connects: SHOPDB_MIGRATION_DATABASE_URL, else `database_url`."""
        if self.migration_database_url is None:
            return database_url
        return self.migration_database_url.get_secret_value()

    def redacted_database_url(self) -> str | None:
        if self.database_url is None:
            return None
        return redact_url(self.database_url.get_secret_value())


def _parseable(url: str) -> None:
    """Refuse a URL that urllib or libpq cannot take apart, without repeating any of it: the
    parsers' own messages quote the part they choke on, which may be the password."""
    try:
        _split(url)
        psycopg.conninfo.conninfo_to_dict(url)
    except UnencodedAt:
        raise ValueError(
            "has an @ in the user name or password: percent-encode it as %40"
            " (and any of : / ? # % as well; / is %2F)"
        ) from None
    except (ValueError, psycopg.Error):
        raise ValueError(
            "cannot be parsed as a URL; percent-encode any of : / @ ? # % in the user name"
            " or password (/ is %2F)"
        ) from None


def _variable_name(loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    if field in {"database_url", "DATABASE_URL"}:
        return "DATABASE_URL"
    return f"SHOPDB_{field.upper()}"


# Variables of the test suite that share the prefix without being settings.
NOT_SETTINGS = frozenset({"SHOPDB_TEST_ADMIN_URL", "SHOPDB_TEST_DATABASE_URL", "SHOPDB_STATEFUL"})


def setting_variables() -> frozenset[str]:
    """Every variable Settings reads, derived from its fields."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"SHOPDB_{name.upper()}")
    return frozenset(names)


def unknown_variables(names: Iterable[str]) -> list[str]:
    """One line per SHOPDB_ name among `names` that is no setting (pydantic-settings ignores
    it silently), naming the closest setting. Names compare as pydantic-settings compares
    them, ignoring case; a value is never shown."""
    known = setting_variables()
    lines = []
    for name in sorted(set(names)):
        upper = name.upper()
        if not upper.startswith("SHOPDB_") or upper in known or upper in NOT_SETTINGS:
            continue
        shown = name if re.fullmatch(r"\w{1,100}", name, re.ASCII) else ascii(name[:100])
        line = f"{shown} is not a setting and is ignored"
        # Compared without the prefix: SHOPDB_DATABSE_URL is DATABASE_URL misspelt.
        bare = {k.removeprefix("SHOPDB_"): k for k in known}
        closest = difflib.get_close_matches(upper.removeprefix("SHOPDB_"), sorted(bare), 1, 0.6)
        if closest:
            line += f": did you mean {bare[closest[0]]}?"
        lines.append(line)
    return lines


def _dotenv_names() -> list[str]:
    env_file = Path(str(Settings.model_config.get("env_file") or ".env"))
    if not env_file.is_file():
        return []
    return list(dotenv_values(env_file, encoding="utf-8"))


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line that names the variable.
    A SHOPDB_ variable that is no setting, in the environment or `.env`, is a WARNING on
    `shopdb.settings` naming the closest setting."""
    for line in unknown_variables([*os.environ, *_dotenv_names()]):
        logger.warning(line)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            # A rule between fields has no location: its message names the variables itself.
            (f"{_variable_name(error['loc'])}: " if error["loc"] else "")
            + error["msg"].removeprefix("Value error, ")
            for error in exc.errors(include_input=False)
        )
        raise SettingsError(f"invalid setting: {problems}") from None
