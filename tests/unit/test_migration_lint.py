"""The migrations' SQL passes squawk; each exception is marked in place and justified in its
migration's docstring."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from shopdb.migrations import upgrade_sql

# alembic's own bookkeeping table is not ours to lint.
ALEMBIC_TABLE = re.compile(r"CREATE TABLE alembic_version \(.*?\);\n", re.DOTALL)


def _squawk() -> str:
    found = shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which("squawk")
    assert found, "squawk (squawk-cli) is a dev dependency"
    return found


def test_upgrade_sql_has_no_squawk_violations(tmp_path: Path) -> None:
    script = ALEMBIC_TABLE.sub("", upgrade_sql())
    assert "SET LOCAL lock_timeout = '5000ms'" in script
    assert "CREATE TABLE products" in script
    path = tmp_path / "upgrade.sql"
    path.write_text(script)
    result = subprocess.run(  # noqa: S603 - our own linter on our own file
        [
            _squawk(),
            "--reporter",
            "gcc",
            "--pg-version",
            "15",
            str(path),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_squawk_would_object_without_the_marked_exceptions(tmp_path: Path) -> None:
    script = ALEMBIC_TABLE.sub("", upgrade_sql()).replace("-- squawk-ignore", "-- ignored")
    path = tmp_path / "upgrade.sql"
    path.write_text(script)
    result = subprocess.run(  # noqa: S603
        [_squawk(), "--reporter", "gcc", "--pg-version", "15", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode != 0
    assert "prefer-bigint-over-int" in result.stdout
    assert "prefer-text-field" in result.stdout
