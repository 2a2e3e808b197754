"""Issue 21 (branch importpg): a cell's and a history row's cycle, stream and family
are checked once per statement instead of once per row, on PostgreSQL.

Why: Django declares every foreign key ``DEFERRABLE INITIALLY DEFERRED``, and
PostgreSQL then runs one check per written row and key at commit. A first import of
39,000 cells writes 39,000 cells and 39,000 history rows, each naming its cycle, stream
and family (the same handful of rows over and over): six checks per cell, about 0.8 s of
the server's CPU, most of the import's foreign-key work and more than its budget.

What stands in for those six foreign keys (PostgreSQL; the rule is the same, only
checked per statement):

* **Written rows** (``planning_planvalue`` and ``planning_planvaluechange``, after every
  INSERT or COPY statement, with the statement's rows as a transition table): every
  distinct cycle, stream and family the rows name must exist, and is locked
  ``FOR KEY SHARE`` — the lock a foreign-key check takes, so that a concurrent delete
  waits for this transaction and then fails, or wins first and this statement fails. A
  missing one raises SQLSTATE 23503 (``foreign_key_violation``: Django's
  ``IntegrityError``) naming the key, as the foreign key did. An UPDATE is checked row
  by row, only when it changes one of the three ids (nothing does: cells keep their key,
  history is written once), as a foreign key skips unchanged keys.
* **Referenced rows** (``planning_planningcycle``, ``valuestreams_valuestream``,
  ``valuestreams_productfamily``): deleting one that a cell or history row still names
  raises the same error (after each DELETE statement, with the deleted rows as a
  transition table, one indexed look-up per child: the tables' cycle, stream and family
  indexes stay); changing its id (Django never does) likewise. Django's own
  ``on_delete`` (CASCADE, PROTECT) acts first, as before.

So no cell or history row can name a cycle, stream or family that does not exist, as
before; the check runs when the statement ends rather than at commit (nothing writes a
cell or history row before its cycle, stream or family exists). The history's link to its
cell (``plan_value``), its scenario and both authors keep their foreign keys (an
operator's import names no author and no scenario: those checks cost little).
``TRUNCATE`` of a referenced table alone is no longer refused (nothing truncates one
table; Django's flush truncates all together).

SQLite: the tables keep their foreign keys (its per-row checks cost little, and the
import there is within its target); the model state says ``db_constraint=False`` for
both, so a later migration that rebuilds one of these tables on SQLite would drop them —
``tests/planning/test_parents_setwise.py`` refuses a bad row on both backends and would
say so.
"""

import django.db.models.deletion
from django.db import migrations, models

CELLS = "planning_planvalue"
HISTORY = "planning_planvaluechange"
CHILDREN = (CELLS, HISTORY)

# (column of both children, referenced table)
PARENTS = (
    ("cycle_id", "planning_planningcycle"),
    ("value_stream_id", "valuestreams_valuestream"),
    ("product_family_id", "valuestreams_productfamily"),
)

_REFUSE_MISSING = """
            RAISE EXCEPTION
                'insert or update on table "{child}" violates foreign key "{child}_{column}"'
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('Key ({column})=(%s) is not present in table "{parent}".',
                                      missing);"""

# Per statement: the distinct ids the written rows name, locked as a foreign-key check
# locks them; fewer locked than named: one is missing.
_CHECK_ROWS = """
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
            LIMIT 1;""" + _REFUSE_MISSING + """
        END IF;
    END IF;
"""

# Per row, only when an update changes one of the ids (nothing does).
_CHECK_ROW = """
    IF NEW.{column} IS NOT NULL THEN
        PERFORM 1 FROM {parent} p WHERE p.id = NEW.{column} FOR KEY SHARE OF p;
        IF NOT FOUND THEN
            missing := NEW.{column};""" + _REFUSE_MISSING + """
        END IF;
    END IF;
"""

_CHILD_FUNCTIONS = """
CREATE FUNCTION {child}_parents_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
    missing bigint;
BEGIN
{rows}
    RETURN NULL;
END
$$;
CREATE TRIGGER {child}_parents_insert AFTER INSERT ON {child}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION {child}_parents_check();
CREATE FUNCTION {child}_parents_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
{row}
    RETURN NULL;
END
$$;
CREATE TRIGGER {child}_parents_update
    AFTER UPDATE OF cycle_id, value_stream_id, product_family_id ON {child}
    FOR EACH ROW WHEN (
        OLD.cycle_id IS DISTINCT FROM NEW.cycle_id
        OR OLD.value_stream_id IS DISTINCT FROM NEW.value_stream_id
        OR OLD.product_family_id IS DISTINCT FROM NEW.product_family_id
    )
    EXECUTE FUNCTION {child}_parents_check_row();
"""

_REFUSE_KEPT = """
        RAISE EXCEPTION
            'update or delete on table "{parent}" violates foreign key "{child}_{column}" on table "{child}"'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (id)=(%s) is still referenced from table "{child}".', kept);"""

_KEPT_ROWS = """
    SELECT c.{column} INTO kept FROM {child} c WHERE c.{column} IN (SELECT id FROM old_rows) LIMIT 1;
    IF kept IS NOT NULL THEN""" + _REFUSE_KEPT + """
    END IF;
"""

_KEPT_ROW = """
    IF EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = OLD.id) THEN
        kept := OLD.id;""" + _REFUSE_KEPT + """
    END IF;
"""

_PARENT_FUNCTIONS = """
CREATE FUNCTION {parent}_children_kept() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kept bigint;
BEGIN
{rows}
    RETURN NULL;
END
$$;
CREATE TRIGGER {parent}_children_kept AFTER DELETE ON {parent}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION {parent}_children_kept();
CREATE FUNCTION {parent}_children_kept_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kept bigint;
BEGIN
{row}
    RETURN NULL;
END
$$;
CREATE TRIGGER {parent}_children_kept_id AFTER UPDATE OF id ON {parent}
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION {parent}_children_kept_row();
"""


def _create_sql() -> list[str]:
    sql = []
    for child in CHILDREN:
        rows = "".join(_CHECK_ROWS.format(child=child, column=c, parent=p) for c, p in PARENTS)
        row = "".join(_CHECK_ROW.format(child=child, column=c, parent=p) for c, p in PARENTS)
        sql.append(_CHILD_FUNCTIONS.format(child=child, rows=rows, row=row))
    for column, parent in PARENTS:
        rows = "".join(_KEPT_ROWS.format(child=c, column=column, parent=parent) for c in CHILDREN)
        row = "".join(_KEPT_ROW.format(child=c, column=column, parent=parent) for c in CHILDREN)
        sql.append(_PARENT_FUNCTIONS.format(parent=parent, rows=rows, row=row))
    return sql


def _drop_sql() -> list[str]:
    sql = []
    for child in CHILDREN:
        sql += [
            f"DROP TRIGGER {child}_parents_insert ON {child}",
            f"DROP TRIGGER {child}_parents_update ON {child}",
            f"DROP FUNCTION {child}_parents_check()",
            f"DROP FUNCTION {child}_parents_check_row()",
        ]
    for _, parent in PARENTS:
        sql += [
            f"DROP TRIGGER {parent}_children_kept ON {parent}",
            f"DROP TRIGGER {parent}_children_kept_id ON {parent}",
            f"DROP FUNCTION {parent}_children_kept()",
            f"DROP FUNCTION {parent}_children_kept_row()",
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
                model_name="planvalue",
                name="cycle",
                field=models.ForeignKey(
                    db_constraint=False,
                    db_index=False,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="values",
                    to="planning.planningcycle",
                ),
            )
        ),
        OnPostgreSQL(
            migrations.AlterField(
                model_name="planvalue",
                name="value_stream",
                field=models.ForeignKey(
                    blank=True,
                    db_constraint=False,
                    null=True,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="plan_values",
                    to="valuestreams.valuestream",
                ),
            )
        ),
        OnPostgreSQL(
            migrations.AlterField(
                model_name="planvalue",
                name="product_family",
                field=models.ForeignKey(
                    blank=True,
                    db_constraint=False,
                    null=True,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="plan_values",
                    to="valuestreams.productfamily",
                ),
            )
        ),
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
