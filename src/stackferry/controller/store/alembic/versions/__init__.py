"""Schema revisions of the controller store, applied in order by Alembic."""
