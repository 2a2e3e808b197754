"""Writing value streams and product families (master data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction

from sofp.errors import Problem, ValidationFailed, problems_sorted
from valuestreams.imports import MASTER_NUMBER_COLUMNS, MasterRow
from valuestreams.models import CODE_VALIDATOR, ProductFamily, ValueStream
from valuestreams.signals import master_changed

# (max_digits, decimal_places) of the ProductFamily fields a master file sets.
_NUMBER_FIELDS: dict[str, tuple[int, int]] = {
    name: (
        ProductFamily._meta.get_field(name).max_digits,
        ProductFamily._meta.get_field(name).decimal_places,
    )
    for name in MASTER_NUMBER_COLUMNS
}
_FAMILY_FIELDS = ("name", "value_stream", *_NUMBER_FIELDS, "active")
_NAME_MAX = 200


@dataclass
class MasterImportResult:
    streams_added: int = 0
    streams_changed: int = 0
    streams_unchanged: int = 0
    families_added: int = 0
    families_changed: int = 0
    families_unchanged: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        return (
            f"value streams: {self.streams_added} added, {self.streams_changed} changed, "
            f"{self.streams_unchanged} unchanged; product families: {self.families_added} "
            f"added, {self.families_changed} changed, {self.families_unchanged} unchanged"
        )


def _number_problem(name: str, value: Decimal) -> tuple[str, str] | None:
    """``(message, code)`` when ``value`` does not fit the family's ``name`` field."""
    digits, places = _NUMBER_FIELDS[name]
    if value < 0:
        return f"must not be negative (got {value})", "negative"
    if value != value.quantize(Decimal(1).scaleb(-places)):
        return f"{value} has more than {places} decimals", "too_many_decimals"
    if value >= Decimal(10) ** (digits - places):
        return f"{value} is too large", "too_large"
    return None


def _problem(row: MasterRow, column: str, message: str, code: str) -> Problem:
    return Problem(code, message, line=row.line, column=column, field=column)


def _check_rows(
    rows: Sequence[MasterRow],
    families: dict[str, ProductFamily],
    families_in_use: dict[int, str],
) -> list[Problem]:
    problems: list[Problem] = []
    stream_names: dict[str, tuple[str, int]] = {}
    seen_families: dict[str, int] = {}
    for row in rows:
        for column, code in (
            ("value_stream", row.value_stream),
            ("product_family", row.product_family),
        ):
            if not CODE_VALIDATOR.regex.match(code):
                message = f"{code!r} is not a valid code ({CODE_VALIDATOR.message})"
                problems.append(_problem(row, column, message, "invalid_code"))
        for column, name in (
            ("value_stream_name", row.value_stream_name),
            ("family_name", row.family_name),
        ):
            if len(name) > _NAME_MAX:
                message = f"longer than {_NAME_MAX} characters"
                problems.append(_problem(row, column, message, "too_long"))
        for name in _NUMBER_FIELDS:
            value = getattr(row, name)
            if value is not None and (found := _number_problem(name, value)):
                problems.append(_problem(row, name, *found))
        current = families.get(row.product_family)
        dos_min = (
            row.dos_min
            if row.dos_min is not None
            else (current.dos_min if current else Decimal(10))
        )
        dos_max = (
            row.dos_max
            if row.dos_max is not None
            else (current.dos_max if current else Decimal(30))
        )
        if dos_max < dos_min:
            message = f"{dos_max} is below dos_min {dos_min}"
            problems.append(_problem(row, "dos_max", message, "dos_band"))
        if row.product_family in seen_families:
            message = (
                f"{row.product_family!r} is a duplicate of line {seen_families[row.product_family]}"
            )
            problems.append(_problem(row, "product_family", message, "duplicate"))
        else:
            seen_families[row.product_family] = row.line
        first = stream_names.setdefault(row.value_stream, (row.value_stream_name, row.line))
        if first[0] != row.value_stream_name:
            message = (
                f"value stream {row.value_stream!r} is named {first[0]!r} on line {first[1]} "
                f"but {row.value_stream_name!r} here"
            )
            problems.append(_problem(row, "value_stream_name", message, "name_differs"))
        if (
            current is not None
            and current.value_stream.code != row.value_stream
            and current.pk in families_in_use
        ):
            message = (
                f"product family {row.product_family!r} belongs to value stream "
                f"{current.value_stream.code!r} and has {families_in_use[current.pk]}; it "
                f"cannot move to {row.value_stream!r}"
            )
            problems.append(_problem(row, "value_stream", message, "family_in_use"))
    return problems


def _families_in_use(families: Sequence[ProductFamily]) -> dict[int, str]:
    """Families that other data refers to and protects (a plan's values, say), with
    what refers to them: such a family must stay in its stream. Found through the
    model's protected relations, so master data need not know who uses it."""
    in_use: dict[int, str] = {}
    for relation in ProductFamily._meta.related_objects:
        model = relation.related_model
        if relation.on_delete is not models.PROTECT or getattr(model, "MASTER_COPY", False):
            # A copy of the master (a cycle's) does not pin the family to its stream.
            continue
        ids = (
            model._default_manager.filter(**{f"{relation.field.name}__in": families})
            .values_list(relation.field.attname, flat=True)
            .distinct()
        )
        for pk in ids:
            in_use.setdefault(pk, str(model._meta.verbose_name_plural))
    return in_use


def master_import(
    *, rows: Sequence[MasterRow], parse_errors: Sequence[Problem] = (), dry_run: bool = False
) -> MasterImportResult:
    """Create or update value streams and families from a master file, all or nothing.

    Blank ``dos_min``/``dos_max`` keep the family's band (10–30 days for a new one).
    Families and streams named in the file become active again.
    """
    with transaction.atomic():
        stream_codes = {r.value_stream for r in rows}
        family_codes = {r.product_family for r in rows}
        streams = {vs.code: vs for vs in ValueStream.objects.filter(code__in=stream_codes)}
        families = {
            f.code: f
            for f in ProductFamily.objects.filter(code__in=family_codes).select_related(
                "value_stream"
            )
        }
        in_use = _families_in_use(list(families.values()))
        problems = problems_sorted([*parse_errors, *_check_rows(rows, families, in_use)])
        if problems:
            raise ValidationFailed(
                f"{len(problems)} problem(s) found; nothing was saved.", problems=problems
            )

        result = MasterImportResult(dry_run=dry_run)
        for code, name in {r.value_stream: r.value_stream_name for r in rows}.items():
            vs = streams.get(code)
            if vs is None:
                vs = ValueStream(code=code, name=name)
                vs.full_clean(validate_unique=False)
                vs.save()
                streams[code] = vs
                result.streams_added += 1
            elif vs.name != name or not vs.active:
                vs.name, vs.active = name, True
                vs.full_clean(validate_unique=False)
                vs.save(update_fields=["name", "active"])
                result.streams_changed += 1
            else:
                result.streams_unchanged += 1

        to_create: list[ProductFamily] = []
        to_update: list[ProductFamily] = []
        for row in rows:
            data = {
                "name": row.family_name,
                "value_stream": streams[row.value_stream],
                "unit_price": row.unit_price,
                "unit_material_cost": row.unit_material_cost,
                "hours_per_unit": row.hours_per_unit,
                "active": True,
            }
            for name in ("dos_min", "dos_max"):
                if getattr(row, name) is not None:
                    data[name] = getattr(row, name)
            family = families.get(row.product_family)
            if family is None:
                to_create.append(ProductFamily(code=row.product_family, **data))
                continue
            changed = [
                k
                for k, v in data.items()
                if (getattr(family, k).pk if k == "value_stream" else getattr(family, k))
                != (v.pk if k == "value_stream" else v)
            ]
            if changed:
                for k, v in data.items():
                    setattr(family, k, v)
                to_update.append(family)
            else:
                result.families_unchanged += 1
        ProductFamily.objects.bulk_create(to_create, batch_size=1000)
        if to_update:
            ProductFamily.objects.bulk_update(to_update, list(_FAMILY_FIELDS), batch_size=1000)
        result.families_added, result.families_changed = len(to_create), len(to_update)
        written = [f.pk for f in to_update] + list(
            ProductFamily.objects.filter(code__in=[f.code for f in to_create]).values_list(
                "pk", flat=True
            )
        )
        if written:
            master_changed.send(sender=ProductFamily, family_ids=written, stream_ids=[])
        if dry_run:
            transaction.set_rollback(True)
        return result
