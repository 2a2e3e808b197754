"""Transactional tests flush the database, which also removes rows that data migrations
created (role groups, step templates). Tests that need them after such a flush call
``restore_migration_data()``: it re-runs those migrations' forward functions."""

from __future__ import annotations

import importlib

from django.apps import apps


def restore_migration_data() -> None:
    roles = importlib.import_module("planning.migrations.0002_roles_and_step_templates")
    roles.forwards(apps, None)
