"""Writing value streams and product families (master data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from planning.imports import MasterRow, sort_problems
from sofp.exceptions import ValidationFailed
from valuestreams.models import CODE_VALIDATOR, ProductFamily, ValueStream

# (max_digits, decimal_places) of the ProductFamily fields a master file sets.
_NUMBER_FIELDS: dict[str, tuple[int, int]] = {
    name: (
        ProductFamily._meta.get_field(name).max_digits,
        ProductFamily._meta.get_field(name).decimal_places,
    )
    for name in ("unit_price", "unit_material_cost", "hours_per_unit", "dos_min", "dos_max")
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


def _number_problem(name: str, value: Decimal) -> str | None:
    digits, places = _NUMBER_FIELDS[name]
    if value < 0:
        return f"must not be negative (got {value})"
    if value != value.quantize(Decimal(1).scaleb(-places)):
        return f"{value} has more than {places} decimals"
    if value >= Decimal(10) ** (digits - places):
        return f"{value} is too large"
    return None


def _check_rows(
    rows: Sequence[MasterRow],
    streams: dict[str, ValueStream],
    families: dict[str, ProductFamily],
    families_with_values: set[int],
) -> list[str]:
    errors: list[str] = []
    stream_names: dict[str, tuple[str, int]] = {}
    seen_families: dict[str, int] = {}
    for row in rows:
        p = f"line {row.line}"
        for column, code in (
            ("value_stream", row.value_stream),
            ("product_family", row.product_family),
        ):
            if not CODE_VALIDATOR.regex.match(code):
                errors.append(
                    f"{p}, column {column}: {code!r} is not a valid code ({CODE_VALIDATOR.message})"
                )
        for column, name in (
            ("value_stream_name", row.value_stream_name),
            ("family_name", row.family_name),
        ):
            if len(name) > _NAME_MAX:
                errors.append(f"{p}, column {column}: longer than {_NAME_MAX} characters")
        for name in _NUMBER_FIELDS:
            value = getattr(row, name)
            if value is not None and (problem := _number_problem(name, value)):
                errors.append(f"{p}, column {name}: {problem}")
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
            errors.append(f"{p}, column dos_max: {dos_max} is below dos_min {dos_min}")
        if row.product_family in seen_families:
            errors.append(
                f"{p}, column product_family: {row.product_family!r} is a duplicate of "
                f"line {seen_families[row.product_family]}"
            )
        else:
            seen_families[row.product_family] = row.line
        first = stream_names.setdefault(row.value_stream, (row.value_stream_name, row.line))
        if first[0] != row.value_stream_name:
            errors.append(
                f"{p}, column value_stream_name: value stream {row.value_stream!r} is named "
                f"{first[0]!r} on line {first[1]} but {row.value_stream_name!r} here"
            )
        if (
            current is not None
            and current.value_stream.code != row.value_stream
            and current.pk in families_with_values
        ):
            errors.append(
                f"{p}, column value_stream: product family {row.product_family!r} belongs to "
                f"value stream {current.value_stream.code!r} and has plan values; it cannot "
                f"move to {row.value_stream!r}"
            )
    return errors


def master_import(
    *, rows: Sequence[MasterRow], parse_errors: Sequence[str] = (), dry_run: bool = False
) -> MasterImportResult:
    """Create or update value streams and families from a master file, all or nothing.

    Blank ``dos_min``/``dos_max`` keep the family's band (10–30 days for a new one).
    Families and streams named in the file become active again.
    """
    from planning.models import PlanValue

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
        with_values = set(
            PlanValue.objects.filter(product_family__in=list(families.values()))
            .values_list("product_family_id", flat=True)
            .distinct()
        )
        errors = list(parse_errors) + _check_rows(rows, streams, families, with_values)
        if errors:
            errors = sort_problems(errors)
            raise ValidationFailed(
                f"{len(errors)} problem(s) found; nothing was saved.", errors=errors
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
        if dry_run:
            transaction.set_rollback(True)
        return result
