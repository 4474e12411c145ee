"""Alembic migrations for Holdfast (installed as the `holdfast_migrations` package)."""
