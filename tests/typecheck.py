"""mypy --strict with the project's configuration, on files a test wrote."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).parents[1]


def strict_mypy(cache: Path, *files: Path) -> tuple[str, str]:
    """mypy's report and its error output for `files` (its cache in `cache`)."""
    stdout, stderr, _ = api.run(
        [
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            *[str(file) for file in files],
        ]
    )
    return stdout, stderr
