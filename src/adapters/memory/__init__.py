"""In-memory adapter: dict-backed, thread-safe, transactional fakes that behave like PostgreSQL,
for threads and for asyncio (the same database serves both)."""

from adapters.memory.database import MemoryDatabase
from adapters.memory.unit_of_work import MemoryUnitOfWork, MemoryUnitOfWorkFactory
from adapters.memory.unit_of_work_async import AsyncMemoryUnitOfWork, AsyncMemoryUnitOfWorkFactory

__all__ = [
    "AsyncMemoryUnitOfWork",
    "AsyncMemoryUnitOfWorkFactory",
    "MemoryDatabase",
    "MemoryUnitOfWork",
    "MemoryUnitOfWorkFactory",
]
