"""Transactional tests flush the database, which also removes rows that data migrations
created (role groups, step templates, the company row). Tests that need them after such a flush call
``restore_migration_data()``: it re-runs those migrations' forward functions."""

from __future__ import annotations

import importlib

from django.apps import apps


def restore_migration_data() -> None:
    for name in ("0002_roles_and_step_templates", "0004_default_company"):
        importlib.import_module(f"planning.migrations.{name}").forwards(apps, None)
