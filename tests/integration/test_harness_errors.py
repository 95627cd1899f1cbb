"""The test harness itself: an unusable DATABASE_URL stops the run with one line, no password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_unreachable_database_url_is_one_redacted_line(tmp_path: Path) -> None:
    canary_url = "postgresql://shop:CANARY-pw-5e1@127.0.0.1:1/shop"  # pragma: allowlist secret
    env = {**os.environ, "DATABASE_URL": canary_url}
    env.pop("SHOPDB_TEST_DATABASE_URL", None)
    env.pop("SHOPDB_TEST_ADMIN_URL", None)  # else the harness would use it, not the canary
    result = subprocess.run(  # noqa: S603 - pytest on our own suite
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # Its own basetemp: pytest prunes old ones, and ours is still in use.
            "--basetemp",
            str(tmp_path / "inner"),
            "tests/integration/test_schema.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    reports = [line for line in output.splitlines() if "cannot use test database" in line]
    assert len(reports) == 1, output
    assert "postgresql://shop:***@127.0.0.1:1/shop" in reports[0]
    assert "Connection refused" in reports[0] or "connection failed" in reports[0]
    assert "CANARY-pw-5e1" not in output
    assert "Traceback" not in output
