"""Ports: the repository and unit-of-work protocols the services depend on."""
