"""A small shop over HTTP on shopdb's async services (FastAPI); see README.md here."""
