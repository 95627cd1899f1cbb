"""Walks of the source that tests share: the ports and services as the packages hold them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import ports
import services


def _modules(package: object) -> list[object]:
    path = getattr(package, "__path__")  # noqa: B009 - a package's search path
    name = getattr(package, "__name__")  # noqa: B009
    return [importlib.import_module(i.name) for i in pkgutil.walk_packages(path, f"{name}.")]


def repository_ports() -> set[type]:
    return {
        cls
        for module in _modules(ports)
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if name.endswith("Repository") and cls.__module__ == getattr(module, "__name__", "")
    }


def service_classes() -> set[type]:
    return {
        cls
        for module in _modules(services)
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if name.endswith("Service")
        and cls.__module__ == getattr(module, "__name__", "")
        and not getattr(cls, "_is_protocol", False)
    }
