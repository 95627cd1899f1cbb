"""Every package the Python examples of the README and the documentation pages import is
installed by shopdb (its core or an extra) or named in a `pip install` line of those pages: a
reader can run them."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import shlex
import sys
import tomllib
from pathlib import Path

from tests import pages

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The example of unit tests of the reader's own services runs under the reader's pytest.
READERS_OWN = {"pytest"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _installable() -> set[str]:
    """What shopdb installs (core and every extra but dev) and what the pages say to."""
    project = PYPROJECT["project"]
    extras = {k: v for k, v in project["optional-dependencies"].items() if k != "dev"}
    names = {_name(r) for r in project["dependencies"]}
    names |= {_name(r) for requirements in extras.values() for r in requirements}
    for block in pages.every_block():
        if block.language != "sh":
            continue
        for line in block.body.splitlines():
            words = shlex.split(line, comments=True)
            if "pip" in words and "install" in words:
                after = words[words.index("install") + 1 :]
                names |= {_name(w) for w in after if not w.startswith("-")}
    return names


def _imports(block: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _distribution(module: str) -> str | None:
    """The distribution that installed `module`; None for the standard library and ours. A
    namespace (`opentelemetry`) spans distributions: the one holding the module's file."""
    top = module.partition(".")[0]
    ours = {p.partition(".")[0] for p in PYPROJECT["tool"]["setuptools"]["packages"]}
    if top in sys.stdlib_module_names or top in ours:
        return None
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} is not installed here"
    assert spec.origin is not None, module
    origin = Path(spec.origin).resolve()
    for candidate in importlib.metadata.packages_distributions()[top]:
        distribution = importlib.metadata.distribution(candidate)
        for file in distribution.files or []:
            if Path(str(distribution.locate_file(file))).resolve() == origin:
                return _name(candidate)
    raise AssertionError(f"no distribution holds {origin}")


def test_every_package_an_example_imports_is_installed_by_a_line_of_the_docs() -> None:
    blocks = [block.body for block in pages.every_block() if block.is_python]
    modules = set().union(*(_imports(block) for block in blocks))
    needed = {d for m in modules if (d := _distribution(m)) is not None} - READERS_OWN
    assert "opentelemetry-sdk" in needed  # the check tells a namespace's packages apart
    missing = needed - _installable()
    assert not missing, f"install them by an extra or a pip line of the docs: {sorted(missing)}"
