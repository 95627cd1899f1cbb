"""The shop's domain: immutable entities, value objects and domain errors. No I/O."""
