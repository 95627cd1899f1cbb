"""The `shopdb` command line (the `cli` extra): migrate, seed, demo, check, distribute, and the
database."""

from __future__ import annotations

import functools
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version as package_version
from types import FrameType
from typing import Annotated, Any, TypeVar

import psycopg
from psycopg_pool import PoolTimeout

try:
    import typer
    from rich.console import Console
    from rich.progress import Progress

    from shopdb import migrations
except ModuleNotFoundError as exc:
    # A core-only install: the command's one line instead of a traceback (this module is the
    # `shopdb` entry point, and is imported by nothing else).
    raise SystemExit(
        "the shopdb command needs the cli extra: pip install 'shopdb[cli]'"
        f" (no module named {str(exc.name).partition('.')[0]!r})"
    ) from None

from domain.errors import DomainError
from shopdb import database
from shopdb.container import Container
from shopdb.database import EmbeddedUnavailable
from shopdb.distribute import DistributeError
from shopdb.health import DatabaseUnreachable, Topology, health, probe, topology
from shopdb.migrations import MigrationError
from shopdb.settings import Backend, Settings, SettingsError, load_settings, redact_url
from shopdb.statistics import refresh_statistics

app = typer.Typer(
    help="shopdb: the shop's persistence layer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
db_app = typer.Typer(
    help="The database: its schema revision and history; the embedded PostgreSQL (used when"
    " DATABASE_URL is not set)."
)
app.add_typer(db_app, name="db")
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)  # an error stays on one line

F = TypeVar("F", bound=Callable[..., Any])

EXPECTED = (
    SettingsError,
    DomainError,
    DatabaseUnreachable,
    EmbeddedUnavailable,
    MigrationError,
    DistributeError,
)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def friendly(command: F) -> F:
    """Every failure becomes one readable line on stderr and exit code 1, never a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except EXPECTED as exc:
            errors.print(f"error: {_one_line(exc)}", markup=False, highlight=False)
        except Exception as exc:  # the last line of defence: still one line
            errors.print(f"error: {type(exc).__name__}: {_one_line(exc)}", markup=False)
        raise typer.Exit(1)

    return run  # type: ignore[return-value]


def _version(show: bool) -> None:
    if show:
        console.print(f"shopdb {package_version('shopdb')}", markup=False, highlight=False)
        raise typer.Exit


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """shopdb: the shop's persistence layer."""


def _settings() -> Settings:
    # Zero configuration on the command line: without DATABASE_URL, the embedded server,
    # unless SHOPDB_EMBEDDED=false says otherwise.
    settings = load_settings().with_embedded_default()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    return settings


@contextmanager
def _container(settings: Settings) -> Iterator[Container]:
    container = Container(settings=settings)
    try:
        yield container
    finally:
        container.shutdown_resources()


def _reachable_url(settings: Settings, *, schema_work: bool = False) -> str:
    """The database URL, checked with one connection; for `schema_work`, the migration URL,
    which goes past any pooler."""
    if settings.backend is Backend.MEMORY:
        raise SettingsError("SHOPDB_BACKEND=memory keeps nothing: this command needs PostgreSQL")
    url = database.database_url(settings)
    if schema_work:
        url = settings.migration_url(url)
    probe(url)
    return url


@app.command()
@friendly
def migrate(
    revision: Annotated[str, typer.Option(help="Upgrade to this revision.")] = "head",
    down: Annotated[str | None, typer.Option(help="Downgrade to this revision instead.")] = None,
    sql: Annotated[
        bool,
        typer.Option(
            "--sql",
            help="Print the SQL from base (or FROM:TO given as --revision) to stdout;"
            " connect to nothing.",
        ),
    ] = False,
) -> None:
    """Bring the schema to a revision (alembic, with the application's settings)."""
    if sql:
        if down is not None:
            raise SettingsError("--sql writes upgrades only; give --revision FROM:TO")
        print(migrations.upgrade_sql(revision if ":" in revision else f"base:{revision}"), end="")
        return
    settings = _settings()
    url = _reachable_url(settings, schema_work=True)
    options = {"lock_timeout_ms": settings.migration_lock_timeout_ms}
    if down is not None:
        migrations.downgrade(url, down, **options)
    else:
        migrations.upgrade(url, revision, **options)
    console.print(f"schema at revision {migrations.current_revision(url) or 'base'}")


@app.command()
@friendly
def seed(
    products: Annotated[int, typer.Option(min=0, help="Products to load (COPY).")] = 1000,
    users: Annotated[int, typer.Option(min=0, help="Users to register.")] = 100,
    carts: Annotated[int, typer.Option(min=0, help="Carts of 5 items, one per user.")] = 50,
    seed_value: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
) -> None:
    """Load realistic sample data; running it again adds more. Ctrl-C stops after the batch
    being written; what was committed before stays."""
    from shopdb.seed import seed as load

    wanted = {"products": products, "users": users, "carts": min(carts, users)}
    kept = dict.fromkeys(wanted, 0)
    with _interruptible() as interrupted:
        settings = _settings()
        url = _reachable_url(settings)
        _require_schema(url)
        with _container(settings) as container, Progress(console=console) as progress:
            tasks = {kind: progress.add_task(kind, total=total) for kind, total in wanted.items()}

            def advance(kind: str, count: int) -> None:
                kept[kind] += count
                progress.advance(tasks[kind], count)

            try:
                load(
                    container.unit_of_work(),
                    container.permitted_password_hasher(),
                    product_count=products,
                    user_count=users,
                    cart_count=carts,
                    seed_value=seed_value,
                    advance=advance,
                    stop=interrupted.is_set,
                )
            except Exception as exc:
                if not any(kept.values()):
                    raise
                problem = _one_line(exc)
                if not isinstance(exc, EXPECTED):
                    problem = f"{type(exc).__name__}: {problem}"
                stored = ", ".join(f"{count:,} {kind}" for kind, count in kept.items())
                errors.print(
                    f"error: {problem}; kept {stored} (each batch was committed on its own)",
                    markup=False,
                    highlight=False,
                )
                raise typer.Exit(1) from None
    if interrupted.is_set():
        outcome = _seed_outcome(kept, wanted, forced=interrupted.forced)
        errors.print(f"interrupted: {outcome}", markup=False, highlight=False)
        raise typer.Exit(130)
    console.print(
        f"seeded {kept['products']} products, {kept['users']} users, {kept['carts']} carts"
    )
    # Searches are planned on fresh counts at once, not after autovacuum's next visit.
    try:
        analyzed_only = refresh_statistics(
            settings.migration_url(url),
            statement_timeout_ms=settings.statement_timeout_ms,
            connect_timeout=settings.connect_timeout,
        )
    except psycopg.Error as exc:  # what was seeded stays: each batch was committed
        errors.print(
            f"warning: planner statistics not refreshed ({_one_line(exc)}); autovacuum will",
            markup=False,
            highlight=False,
        )
        return
    for table in analyzed_only:
        console.print(f"{table}: analyzed; its VACUUM ran past statement_timeout")


def _seed_outcome(kept: dict[str, int], wanted: dict[str, int], *, forced: bool) -> str:
    stored = ", ".join(f"{count:,} {kind}" for kind, count in kept.items())
    missing = ", ".join(f"{wanted[kind] - count:,} {kind}" for kind, count in kept.items())
    if forced:  # the batch in flight may have been inside its COMMIT
        return (
            f"kept at least {stored} (each batch was committed on its own);"
            f" the batch being written was rolled back unless it was already committing;"
            f" not stored: up to {missing}"
        )
    return (
        f"kept {stored} (each batch was committed on its own);"
        f" not stored: {missing} (stopped before the next batch)"
    )


class _Interruption(threading.Event):
    forced = False  # a second Ctrl-C, or one before the handler was in place


@contextmanager
def _interruptible() -> Iterator[_Interruption]:
    """Ctrl-C sets the event, for the work to stop at its next safe point; a second Ctrl-C
    interrupts at once. Stopping between batches keeps the report of what was committed exact:
    interrupted inside COMMIT, a batch could be stored without being counted."""
    interrupted = _Interruption()

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()

    if threading.current_thread() is not threading.main_thread():  # only it may set handlers
        yield interrupted
        return
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    except KeyboardInterrupt:
        interrupted.forced = True
        interrupted.set()
    finally:
        signal.signal(signal.SIGINT, previous)


def _require_schema(url: str) -> None:
    state = health(url)
    if not state.migrated:
        raise SettingsError(
            f"schema is at revision {state.revision or 'base'}, not {state.head}:"
            " run `shopdb migrate`"
        )


@app.command()
@friendly
def demo() -> None:
    """Migrate, make a small catalog and two customers, check out two orders, refuse a sold-out
    sale, list the order history: the whole path, end to end."""
    from shopdb.demo import run_demo

    settings = _settings()
    if settings.backend is Backend.POSTGRES:
        url = _reachable_url(settings, schema_work=True)
        migrations.upgrade(url, lock_timeout_ms=settings.migration_lock_timeout_ms)
        console.print(f"database {redact_url(url)} at revision {migrations.head_revision()}")
    with _container(settings) as container:
        run_demo(container, console)


def _check(settings: Settings) -> Topology:
    _reachable_url(settings)  # one quick connection: a clear error if there is none
    with _container(settings) as container:
        pool = container.pool()
        assert pool is not None  # _reachable_url refused the memory backend
        try:
            pool.wait(timeout=settings.pool_timeout)
        except PoolTimeout:
            # The probe's single connection got through, but the pool's cannot: their
            # parameters differ (a pooler refusing startup options, say); give the reason.
            reason = pool.last_connect_error or "no reason recorded"
            raise DatabaseUnreachable(
                f"the pool could not connect within {settings.pool_timeout:g} s: {reason}"
            ) from None
        found = topology(container, timeout=settings.pool_timeout)
        if found.primary.error is not None:
            raise DatabaseUnreachable(found.primary.error)
        return found


@app.command()
@friendly
def check(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object on stdout, for machines.")
    ] = False,
) -> None:
    """Connection, schema revision and pool statistics of the primary, and each replica's
    replay position and lag; exit code 1 when the primary is not healthy."""
    settings = _settings()
    if as_json:
        try:
            found = _check(settings)
        except (*EXPECTED, psycopg.Error) as exc:
            print(json.dumps({"error": _one_line(exc), "healthy": False}, sort_keys=True))
            raise typer.Exit(1) from None
        report: dict[str, Any] = {**found.primary.as_dict(), "healthy": found.healthy}
        if found.replicas:
            report["replicas"] = [replica.as_dict() for replica in found.replicas]
        print(json.dumps(report, sort_keys=True))
        if not found.healthy:
            raise typer.Exit(1)
        return
    found = _check(settings)
    primary = found.primary
    console.print(f"database: {primary.database} (PostgreSQL {primary.server_version})")
    console.print(f"schema: {primary.revision or 'base'} (head {primary.head})")
    console.print(f"pool: {primary.pool}")
    for replica in found.replicas:
        if replica.error is not None:
            console.print(f"replica: {replica.database}: skipped by reads ({replica.error})")
        else:
            console.print(
                f"replica: {replica.database}: replayed {replica.replayed},"
                f" lag {replica.lag_s:g} s, pool: {replica.pool}"
            )
    if not found.healthy:
        raise SettingsError("schema is not at head: run `shopdb migrate`")
    console.print("healthy")


@app.command("grant-app-role")
@friendly
def grant_app_role(
    role: Annotated[str, typer.Argument(help="Role the application will connect as.")],
    password: Annotated[
        str | None, typer.Option(help="Set this login password (else leave it as it is).")
    ] = None,
) -> None:
    """Create a least-privilege role: rows in and out, no DROP/ALTER/CREATE/TRUNCATE."""
    from shopdb.roles import create_app_role

    settings = _settings()
    url = _reachable_url(settings, schema_work=True)
    _require_schema(url)
    create_app_role(url, role, password)
    console.print(f"role {role} may read and write rows, and change no schema")


@app.command("pooler-timeouts")
@friendly
def pooler_timeouts(
    role: Annotated[
        str | None, typer.Option(help="The role to set them for (else DATABASE_URL's user).")
    ] = None,
) -> None:
    """Make the statement and idle-in-transaction timeouts the defaults of the application's
    role in its database: behind a transaction pooler (SHOPDB_POOLER=transaction) shopdb
    cannot send them when it connects. Run again after changing them."""
    from shopdb.pooler import set_role_timeouts

    settings = _settings()
    app_url = database.database_url(settings)
    url = _reachable_url(settings, schema_work=True)
    who, where, values = set_role_timeouts(url, app_url, settings, role=role)
    shown = ", ".join(f"{name}={value}" for name, value in values.items())
    console.print(f"role {who} in database {where}: {shown}", markup=False, highlight=False)


@app.command()
@friendly
def distribute() -> None:
    """On a Citus coordinator: make products a reference table and distribute the user's
    tables by user id, co-located (docs/scale-out.md). Safe to run again; refused on plain
    PostgreSQL."""
    from shopdb.distribute import distribute as distribute_tables

    settings = _settings()
    url = _reachable_url(settings, schema_work=True)
    _require_schema(url)
    outcome = distribute_tables(url)
    done = ", ".join(outcome.distributed) if outcome.distributed else "nothing to do"
    console.print(
        f"distributed over {outcome.workers} workers: {done}", markup=False, highlight=False
    )


@db_app.command("current")
@friendly
def db_current() -> None:
    """The schema revision of the database, against the newest this code knows."""
    url = _reachable_url(_settings())
    state = health(url)
    mark = "at head" if state.migrated else "behind: run `shopdb migrate`"
    console.print(f"{state.revision or 'base'} (head {state.head}, {mark})", markup=False)


@db_app.command("history")
@friendly
def db_history() -> None:
    """Every migration, newest first; connects to nothing."""
    head = migrations.head_revision()
    for revision, before, title in migrations.history():
        suffix = " (head)" if revision == head else ""
        line = f"{before or 'base'} -> {revision}{suffix}: {title}"
        console.print(line, markup=False, highlight=False)


@db_app.command("url")
@friendly
def db_url() -> None:
    """Start the embedded server if needed and print its URL."""
    settings = _settings().model_copy(update={"database_url": None, "embedded": True})
    console.print(database.database_url(settings), markup=False, highlight=False)


@db_app.command("status")
@friendly
def db_status() -> None:
    """Whether the embedded server is running, and where its data lives."""
    settings = _settings()
    running = database.embedded_running(settings)
    where = database.data_dir(settings)
    console.print(f"embedded PostgreSQL: {'running' if running else 'stopped'} ({where})")


@db_app.command("stop")
@friendly
def db_stop() -> None:
    """Stop the embedded server."""
    console.print("stopped" if database.stop_embedded(_settings()) else "was not running")


def main() -> None:
    app(prog_name="shopdb")


if __name__ == "__main__":
    main()
