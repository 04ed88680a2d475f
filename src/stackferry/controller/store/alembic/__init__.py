"""Alembic environment of the controller store."""
