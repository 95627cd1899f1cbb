"""The README's examples run as written, in order, on PostgreSQL; its commands exist."""

from __future__ import annotations

import inspect
import logging
import re
import shlex
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shopdb.cli import app

README = (Path(__file__).parents[2] / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def _run_tests(names: set[str], namespace: dict[str, Any]) -> int:
    """Run the test functions among `names` with their fixtures (generators: the caller left
    `@pytest.fixture` out), as pytest would."""
    ran = 0
    for name in sorted(names):
        test = namespace[name]
        if not (name.startswith("test_") and callable(test)):
            continue
        opened: list[Generator[Any, None, None]] = []
        arguments = {}
        for parameter in inspect.signature(test).parameters:
            fixture = namespace[parameter]()
            opened.append(fixture)
            arguments[parameter] = next(fixture)
        try:
            test(**arguments)
        finally:
            for fixture in opened:
                fixture.close()
        ran += 1
    return ran


def _run_examples(blocks: list[str]) -> int:
    """Every example in order in one namespace, as a reader pastes them; the tests it ran."""
    namespace: dict[str, Any] = {}
    tests = 0
    try:
        for block in blocks:
            before = set(namespace)
            exec(block.replace("@pytest.fixture\n", ""), namespace)  # noqa: S102 - our README
            tests += _run_tests(set(namespace) - before, namespace)
    finally:
        container = namespace.get("container")
        if container is not None and hasattr(container, "shutdown_resources"):
            container.shutdown_resources()
    return tests


def test_every_python_example_runs_in_order_twice(
    clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", clean_database)
    monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
    blocks = _blocks("python")
    assert len(blocks) >= 4
    # A second run finds the first one's rows: fixed names or keys would collide there.
    for _ in range(2):
        assert _run_examples(blocks) >= 1  # the example of unit tests on the fakes ran


def test_the_logging_example_prints_with_no_logging_configured(
    clean_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As in a fresh program: no handler anywhere (pytest's own taken off for the example)."""
    monkeypatch.setenv("DATABASE_URL", clean_database)
    monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
    (logging_example,) = [b for b in _blocks("python") if b.startswith("import logging")]
    setup = _blocks("python")[0]
    root = logging.getLogger()
    kept = root.handlers[:]
    namespace: dict[str, Any] = {}
    try:
        exec(setup, namespace)  # noqa: S102 - our README: the Container and the lamp
        root.handlers.clear()
        exec(logging_example, namespace)  # noqa: S102 - our README
    finally:
        for added in root.handlers[:]:
            root.removeHandler(added)
        root.handlers[:] = kept
        namespace["container"].shutdown_resources()
    printed = capsys.readouterr().err
    assert "DEBUG shopdb.services: use case CatalogService.get_product: ok" in printed
    assert "DEBUG shopdb.postgres: unit of work (read-only): ok" in printed


def test_every_test_file_shown_runs_under_pytest(
    pytester: pytest.Pytester, same_server: str
) -> None:
    """A block fenced as `python tests/NAME.py` is a test file of the reader's: it runs as
    pytest runs it, with shopdb's plugin and no conftest."""
    files = re.findall(r"```python (tests/\S+\.py)\n(.*?)```", README, re.DOTALL)
    assert files
    for name, text in files:
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=sum(text.count("\ndef test_") for _, text in files))


def _shopdb_commands() -> list[list[str]]:
    commands = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0].endswith("bin/shopdb"):
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("arguments", _shopdb_commands(), ids=" ".join)
def test_every_shopdb_command_shown_exists(arguments: list[str]) -> None:
    # --help after the arguments: click still rejects an unknown command or option.
    result = CliRunner().invoke(app, [*arguments, "--help"])
    assert result.exit_code == 0, result.output
