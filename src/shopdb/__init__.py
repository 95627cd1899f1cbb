"""Composition root of shopdb: settings, the dependency container and the command line."""
