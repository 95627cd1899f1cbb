"""The review tests run on both adapters, with the contract suite's fixtures."""

from tests.contract.conftest import short_switch_interval, uow

__all__ = ["short_switch_interval", "uow"]
