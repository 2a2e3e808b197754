"""Issue 21 (branch importpg): the history's cycle, stream and family checked once per
statement instead of once per row, on PostgreSQL.

Why: Django declares every foreign key ``DEFERRABLE INITIALLY DEFERRED``, and
PostgreSQL then runs one check per written row and key at commit. A first import of
39,000 cells writes 39,000 history rows, each naming its cycle, stream and family (the
same handful of rows over and over): those three checks were about 0.4 s of the
server's CPU, a third of the import's foreign-key work.

What stands in for them (PostgreSQL; the constraint is the same, only checked per
statement):

* **Written rows** (``planning_planvaluechange``, after every INSERT, COPY or UPDATE
  statement, with the statement's rows as a transition table): every distinct cycle,
  stream and family the rows name must exist, and is locked ``FOR KEY SHARE`` — the lock
  a foreign-key check takes, so that a concurrent delete waits for this transaction and
  then fails, or wins first and this statement fails. A missing one raises SQLSTATE
  23503 (``foreign_key_violation``, Django's ``IntegrityError``) naming the key, as
  the foreign key did.
* **Referenced rows** (``planning_planningcycle``, ``valuestreams_valuestream``,
  ``valuestreams_productfamily``): deleting one that some history row still names
  raises the same error (after each DELETE statement, with the deleted rows as a
  transition table, one indexed look-up: the history's cycle, stream and family indexes
  stay); changing its id (Django never does) likewise, row by row only when the id
  changes. Django's own ``on_delete=CASCADE`` deletes the history first, as before.

So no row can name a cycle, stream or family that does not exist, as before; the check
runs when the statement ends rather than at commit (nothing writes history before its
cycle, stream or family exists). The history's link to its cell (``plan_value``), its
scenario and author keep their foreign keys. ``TRUNCATE`` of a referenced table alone is
no longer refused (nothing truncates one table; Django's flush truncates all together).

SQLite: the tables keep their foreign keys (its per-row checks cost little, and the
import there is within its target); the model state says ``db_constraint=False`` for
both, so a later migration that rebuilds the history table on SQLite would drop them —
``tests/planning/test_history_parents.py`` refuses a bad row on both backends and would
say so.
"""

import django.db.models.deletion
from django.db import migrations, models

HISTORY = "planning_planvaluechange"

# (history column, referenced table)
PARENTS = (
    ("cycle_id", "planning_planningcycle"),
    ("value_stream_id", "valuestreams_valuestream"),
    ("product_family_id", "valuestreams_productfamily"),
)

_CHECK_ONE = """
    SELECT count(DISTINCT {column}) INTO wanted FROM new_rows;
    IF wanted > 0 THEN
        SELECT count(*) INTO found FROM (
            SELECT 1 FROM {parent} p WHERE p.id IN (SELECT {column} FROM new_rows)
            FOR KEY SHARE OF p
        ) AS locked;
        IF found < wanted THEN
            SELECT n.{column} INTO missing FROM new_rows n
            WHERE n.{column} IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = n.{column})
            LIMIT 1;
            RAISE EXCEPTION
                'insert or update on table "{history}" violates foreign key "{history}_{column}"'
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('Key ({column})=(%s) is not present in table "{parent}".',
                                      missing);
        END IF;
    END IF;
"""

_CHILD_FUNCTION = """
CREATE FUNCTION {history}_parents_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
    missing bigint;
BEGIN
{checks}
    RETURN NULL;
END
$$;
CREATE TRIGGER {history}_parents_insert AFTER INSERT ON {history}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION {history}_parents_check();
CREATE TRIGGER {history}_parents_update AFTER UPDATE ON {history}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION {history}_parents_check();
"""

_PARENT_FUNCTIONS = """
CREATE FUNCTION {parent}_history_kept() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kept bigint;
BEGIN
    SELECT h.{column} INTO kept FROM {history} h
    WHERE h.{column} IN (SELECT id FROM old_rows) LIMIT 1;
    IF kept IS NOT NULL THEN
        RAISE EXCEPTION
            'update or delete on table "{parent}" violates foreign key "{history}_{column}" on table "{history}"'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (id)=(%s) is still referenced from table "{history}".', kept);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {parent}_history_kept AFTER DELETE ON {parent}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION {parent}_history_kept();
CREATE FUNCTION {parent}_history_kept_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {history} h WHERE h.{column} = OLD.id) THEN
        RAISE EXCEPTION
            'update or delete on table "{parent}" violates foreign key "{history}_{column}" on table "{history}"'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (id)=(%s) is still referenced from table "{history}".', OLD.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {parent}_history_kept_id AFTER UPDATE OF id ON {parent}
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION {parent}_history_kept_id();
"""


def _create_sql() -> list[str]:
    checks = "".join(_CHECK_ONE.format(column=c, parent=p, history=HISTORY) for c, p in PARENTS)
    sql = [_CHILD_FUNCTION.format(history=HISTORY, checks=checks)]
    sql += [_PARENT_FUNCTIONS.format(column=c, parent=p, history=HISTORY) for c, p in PARENTS]
    return sql


def _drop_sql() -> list[str]:
    sql = [
        f"DROP TRIGGER {HISTORY}_parents_insert ON {HISTORY}",
        f"DROP TRIGGER {HISTORY}_parents_update ON {HISTORY}",
        f"DROP FUNCTION {HISTORY}_parents_check()",
    ]
    for _, parent in PARENTS:
        sql += [
            f"DROP TRIGGER {parent}_history_kept ON {parent}",
            f"DROP TRIGGER {parent}_history_kept_id ON {parent}",
            f"DROP FUNCTION {parent}_history_kept()",
            f"DROP FUNCTION {parent}_history_kept_id()",
        ]
    return sql


class OnPostgreSQL(migrations.operations.base.Operation):
    """Changes the state on every backend; changes the schema only on PostgreSQL."""

    reversible = True

    def __init__(self, operation):
        self.operation = operation

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operation], {})

    def state_forwards(self, app_label, state):
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{self.operation.describe()} (schema on PostgreSQL only)"


def _run(statements):
    def apply(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements():
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0020_merge_pgimport_gaps2"),
        ("valuestreams", "0001_initial"),
    ]

    operations = [
        OnPostgreSQL(
            migrations.AlterField(
                model_name="planvaluechange",
                name="cycle",
                field=models.ForeignKey(
                    db_constraint=False,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="+",
                    to="planning.planningcycle",
                ),
            )
        ),
        OnPostgreSQL(
            migrations.AlterField(
                model_name="planvaluechange",
                name="value_stream",
                field=models.ForeignKey(
                    blank=True,
                    db_constraint=False,
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    to="valuestreams.valuestream",
                ),
            )
        ),
        OnPostgreSQL(
            migrations.AlterField(
                model_name="planvaluechange",
                name="product_family",
                field=models.ForeignKey(
                    blank=True,
                    db_constraint=False,
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    to="valuestreams.productfamily",
                ),
            )
        ),
        migrations.RunPython(_run(_create_sql), _run(_drop_sql), elidable=False),
    ]
