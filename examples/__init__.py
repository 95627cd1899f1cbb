"""Applications built on shopdb, as examples of its use; each is tested in tests/integration."""
