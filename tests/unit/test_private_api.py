"""No private API of a dependency outside adapters/postgres/dependency_internals.py.

An AST scan of src. Python cannot say from the source alone whose attribute `x._y` is, so the
rules are stricter than the aim and hold on syntax only:

- `._y` on anything but `self`/`cls` must name something src defines itself (a method, a class
  attribute, a slot, or an attribute assigned on `self`/`cls`), or namedtuple's public `_replace`
  family;
- in a class derived from a class src does not define (a dependency's, or one passed in),
  `self._y` and a `_y` defined in the body must be assigned in that very class: an override
  of, or a read of, the base's private attribute fails;
- `super()._y`, `getattr(x, "_y")` (and setattr, hasattr, delattr) on anything but self/cls, a
  `from dep import _y` or `import dep._y`, `__dict__`, `vars()` and pydantic's `__pydantic_*__`
  slots always fail.

`x._y` where src defines `_y` too fails when a dependency's sources define `_y` as well. What
it cannot see: a private name a dependency makes only dynamically (setattr, C extensions).
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import re
import tomllib
from collections.abc import Callable, Iterator, Set
from contextlib import suppress
from importlib.metadata import packages_distributions
from itertools import chain
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src"
THE_MODULE = SRC / "adapters" / "postgres" / "dependency_internals.py"
OWN_PACKAGES = {path.name for path in SRC.iterdir() if (path / "__init__.py").exists()}
# Public API of namedtuple (urllib.parse's results are namedtuples), underscored to avoid clashes.
NAMEDTUPLE = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}
ACCESSORS = {"getattr", "setattr", "hasattr", "delattr"}
# Bases that carry no private Python attributes of their own.
PLAIN_BASES = {"object", "Protocol", "Generic", "NamedTuple", "TypedDict", "Enum", "StrEnum"}


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def assigned_on_self(tree: ast.AST) -> Iterator[str]:
    """Names assigned as `self._y`/`cls._y`, listed in `__slots__`, or defined in a class body."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if is_self(node.value):
                yield node.attr
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield item.name
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(item, ast.Assign):
                    targets, value = item.targets, item.value
                elif isinstance(item, ast.AnnAssign):
                    targets, value = [item.target], item.value
                for target in targets:
                    if isinstance(target, ast.Name):
                        yield target.id
                        if target.id == "__slots__" and value is not None:
                            for slot in ast.walk(value):
                                if isinstance(slot, ast.Constant) and isinstance(slot.value, str):
                                    yield slot.value


def base_name(base: ast.expr) -> str:
    if isinstance(base, ast.Subscript):
        base = base.value
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""


def violations(
    source: str,
    own_names: Set[str],
    own_classes: Set[str],
    resolve: Callable[[str], type | None] = lambda name: None,
    theirs: frozenset[str] = frozenset(),
) -> list[str]:
    """Each use in `source` of what may be a dependency's private API, as "line: what".
    `own_classes`: the classes of src derived from src's classes only; `resolve`: a class of
    `source` by name, to tell an override of a base's private method from a method of its own
    (a class it cannot resolve, one made inside a function, counts as overriding); `theirs`:
    the private names the dependencies define, which `x._y` may not use even where src has
    one of the same name."""
    tree = ast.parse(source)
    found: list[str] = []

    def add(node: ast.AST, what: str) -> None:
        found.append(f"{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            foreign = node.module.split(".")[0] not in OWN_PACKAGES
            if foreign and (
                any(private(part) for part in node.module.split("."))
                or any(private(alias.name) for alias in node.names)
            ):
                add(node, f"from {node.module} import a private name")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(private(part) for part in alias.name.split(".")):
                    add(node, f"import {alias.name}")
        elif isinstance(node, ast.Attribute):
            if node.attr == "__dict__" or node.attr.startswith("__pydantic_"):
                add(node, f".{node.attr}")
            elif private(node.attr) and not is_self(node.value):
                receiver = node.value
                if isinstance(receiver, ast.Call) and base_name(receiver.func) == "super":
                    add(node, f"super().{node.attr}")
                elif node.attr in NAMEDTUPLE:
                    continue
                elif node.attr not in own_names:
                    add(node, f"{ast.unparse(receiver)}.{node.attr}, defined nowhere in src")
                elif node.attr in theirs:
                    add(node, f"{ast.unparse(receiver)}.{node.attr}, a dependency's name too")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "vars":
                add(node, "vars()")
            elif node.func.id in ACCESSORS and len(node.args) >= 2:
                name = node.args[1]
                if (
                    isinstance(name, ast.Constant)
                    and isinstance(name.value, str)
                    and private(name.value)
                    and not is_self(node.args[0])
                ):
                    add(node, f"{node.func.id}(..., {name.value!r})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith("__pydantic_"):
                add(node, repr(node.value))
        elif isinstance(node, ast.ClassDef):
            foreign_bases = [
                base_name(b) for b in node.bases if base_name(b) not in own_classes | PLAIN_BASES
            ]
            if not foreign_bases:
                continue
            own = {
                n.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Attribute)
                and isinstance(n.ctx, ast.Store)
                and is_self(n.value)
            }
            cls = resolve(node.name)
            bases = [b for b in getattr(cls, "__mro__", ())[1:] if not own_module(b)]
            for item in node.body:  # slots are this class's own
                if isinstance(item, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__slots__" for t in item.targets
                ):
                    own |= {
                        s.value
                        for s in ast.walk(item.value)
                        if isinstance(s, ast.Constant) and isinstance(s.value, str)
                    }
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and private(item.name):
                    if cls is None or any(hasattr(b, item.name) for b in bases):
                        add(item, f"{node.name}.{item.name} overrides {foreign_bases}' one")
                    own.add(item.name)
            for n in ast.walk(node):
                if (
                    isinstance(n, ast.Attribute)
                    and is_self(n.value)
                    and private(n.attr)
                    and n.attr not in own
                ):
                    add(n, f"self.{n.attr} in {node.name}, a subclass of {foreign_bases}")
    return found


def sources() -> Iterator[Path]:
    return iter(sorted(SRC.rglob("*.py")))


def own_module(cls: type) -> bool:
    return cls.__module__.split(".")[0] in OWN_PACKAGES


@functools.cache
def own_definitions() -> tuple[frozenset[str], frozenset[str]]:
    """The private names src defines, and its classes derived from its own classes only (by
    name: a name defined twice counts only if every definition is)."""
    names: set[str] = set()
    bases: dict[str, list[list[str]]] = {}
    for path in sources():
        tree = ast.parse(path.read_text())
        names.update(assigned_on_self(tree))
        for n in ast.walk(tree):
            if isinstance(n, ast.ClassDef):
                bases.setdefault(n.name, []).append([base_name(b) for b in n.bases])
    pure: set[str] = set()
    while True:
        more = {
            name for name, each in bases.items() if all(set(b) <= pure | PLAIN_BASES for b in each)
        }
        if more <= pure:
            return frozenset(names), frozenset(pure)
        pure |= more


@functools.cache
def dependency_names() -> frozenset[str]:
    """The private names src's dependencies (pyproject.toml's, every extra but dev's tools)
    define in their Python sources, found as `assigned_on_self` finds src's."""
    project = tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]
    extras = [specs for name, specs in project["optional-dependencies"].items() if name != "dev"]
    wanted = [*project["dependencies"], *chain(*extras)]
    dists = {canonical(re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0]) for spec in wanted}
    modules = {
        module
        for module, owners in packages_distributions().items()
        if any(canonical(owner) in dists for owner in owners)
    }
    names: set[str] = set()
    for module in sorted(modules):
        spec = importlib.util.find_spec(module)
        if spec is None:
            continue
        roots = list(spec.submodule_search_locations or [])
        files = [p for r in roots for p in Path(r).rglob("*.py")] or [Path(str(spec.origin))]
        for file in files:
            if file.suffix == ".py":
                with suppress(SyntaxError, UnicodeDecodeError, OSError):
                    names.update(
                        n for n in assigned_on_self(ast.parse(file.read_text())) if private(n)
                    )
    assert {"_pool", "_get_ready_connection"} <= names, "psycopg_pool's sources were not read"
    return frozenset(names)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolver(path: Path) -> Callable[[str], type | None]:
    if path.name == "__main__.py":  # not imported (it would run): its classes count as foreign
        return lambda name: None
    module = importlib.import_module(".".join(path.relative_to(SRC).with_suffix("").parts))
    return lambda name: found if isinstance(found := getattr(module, name, None), type) else None


def test_no_private_api_of_a_dependency_outside_the_one_module() -> None:
    names, classes = own_definitions()
    found = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sources()
        if path != THE_MODULE
        for line in violations(path.read_text(), names, classes, resolver(path), dependency_names())
    ]
    assert not found, "private API of a dependency outside dependency_internals.py:\n" + "\n".join(
        found
    )


PLANTED = [
    # the uses this project had before dependency_internals
    "class Lifo(ConnectionPool):\n    def _get_ready_connection(self, timeout):\n"
    "        return super()._get_ready_connection(timeout)\n",
    "class Lifo(ShopdbPool):\n    def get(self):\n        self._pool.rotate(1)\n",
    "state = conn.__dict__.get('_shopdb_tended')\n",
    "_set = vars(BaseModel)['__pydantic_extra__'].__set__\n",
    # and others of the same kinds
    "pool._pool.clear()\n",
    "waiting = getattr(pool, '_waiting')\n",
    "from psycopg._encodings import pg2pyenc\n",
    "from pydantic._internal import _model_construction\n",
    "import psycopg._cmodule\n",
    "fields = model.__pydantic_fields__\n",
]


@pytest.mark.parametrize("source", PLANTED)
def test_the_scan_fails_on_a_planted_use(source: str) -> None:
    names, classes = own_definitions()
    found = violations(source, names, classes, theirs=dependency_names())
    print(f"\n{source.strip()}\n-> {found}")
    assert found


def test_the_scan_lets_own_private_names_and_namedtuples_pass() -> None:
    source = (
        "class Mine(Own):\n    __slots__ = ('_a',)\n    def f(self):\n        return self._a\n"
        "parts = parts._replace(path='/')\nunit._session\n"
    )
    assert violations(source, {"_session"}, {"Own"}) == []
