"""The examples of the README and of every documentation page run as written, page by page in
order, on PostgreSQL; the commands they show exist. A block shown but not meant to run carries
`<!-- not run: why -->` on the line before its fence (tests/pages.py)."""

from __future__ import annotations

import inspect
import logging
import shlex
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shopdb.cli import app
from tests import pages

EXAMPLES = {
    page: examples
    for page in pages.PAGES
    if (examples := [b.body for b in pages.blocks(page) if b.is_example])
}
TELEMETRY = pages.ROOT / "docs" / "telemetry.md"


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
            exec(block.replace("@pytest.fixture\n", ""), namespace)  # noqa: S102 - our docs
            tests += _run_tests(set(namespace) - before, namespace)
    finally:
        container = namespace.get("container")
        if container is not None and hasattr(container, "shutdown_resources"):
            container.shutdown_resources()
    return tests


@pytest.mark.parametrize("page", list(EXAMPLES), ids=pages.name)
def test_every_python_example_runs_in_order_twice(
    page: Path, clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page in a namespace of its own, as a reader pastes its examples from the top."""
    monkeypatch.setenv("DATABASE_URL", clean_database)
    monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
    blocks = EXAMPLES[page]
    tests = sum(block.count("\ndef test_") + block.startswith("def test_") for block in blocks)
    # A second run finds the first one's rows: fixed names or keys would collide there.
    for _ in range(2):
        assert _run_examples(blocks) == tests  # the examples of tests ran too


def test_the_pages_with_examples_are_run() -> None:
    """The parametrization above found the pages it must: a changed fence would empty it."""
    found = {pages.name(page) for page in EXAMPLES}
    assert {
        "README.md",
        "docs/usage.md",
        "docs/unit-of-work.md",
        "docs/telemetry.md",
        "docs/testing.md",
        "docs/scale-out.md",
    } <= found


def test_the_logging_example_prints_with_no_logging_configured(
    clean_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As in a fresh program: no handler anywhere (pytest's own taken off for the example)."""
    monkeypatch.setenv("DATABASE_URL", clean_database)
    monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
    setup, *others = EXAMPLES[TELEMETRY]
    (logging_example,) = [b for b in others if b.startswith("import logging")]
    root = logging.getLogger()
    kept = root.handlers[:]
    namespace: dict[str, Any] = {}
    try:
        exec(setup, namespace)  # noqa: S102 - our docs: the Container and the lamp
        root.handlers.clear()
        exec(logging_example, namespace)  # noqa: S102 - our docs
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
    """A block fenced as `python title="tests/NAME.py"` is a test file of the reader's: it runs
    as pytest runs it, with shopdb's plugin and no conftest."""
    files = [(b.title, b.body) for b in pages.every_block() if b.is_test_file]
    assert files
    for name, text in files:
        assert name is not None
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(
        passed=sum(text.count("\ndef test_") + text.count("\nasync def test_") for _, text in files)
    )


def _shopdb_commands() -> list[list[str]]:
    commands = []
    for block in pages.every_block():
        if block.language != "sh":
            continue
        for line in block.body.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0].endswith("bin/shopdb"):
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("arguments", _shopdb_commands(), ids=" ".join)
def test_every_shopdb_command_shown_exists(arguments: list[str]) -> None:
    # --help after the arguments: click still rejects an unknown command or option.
    result = CliRunner().invoke(app, [*arguments, "--help"])
    assert result.exit_code == 0, result.output
