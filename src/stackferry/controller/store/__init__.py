"""Durable state of the controller: the MigrationStore interface and its SQL implementation."""
