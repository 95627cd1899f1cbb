"""In-memory adapter: dict-backed, thread-safe, transactional fakes that behave like PostgreSQL."""

from adapters.memory.database import MemoryDatabase
from adapters.memory.unit_of_work import MemoryUnitOfWork, MemoryUnitOfWorkFactory

__all__ = ["MemoryDatabase", "MemoryUnitOfWork", "MemoryUnitOfWorkFactory"]
