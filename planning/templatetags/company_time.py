"""One way to show a time: in the company's time zone, and saying which.

Built in for every template (``TEMPLATES`` ``builtins``): ``{{ moment|when }}`` renders
``<time datetime="…" title="Europe/Amsterdam">30 Nov 2026, 05:36 CET</time>``, and
``{% company_zone %}`` names the zone (the footer of every page; the grid reads it from
``<body data-time-zone>`` for its status line, dialogs and tooltips).
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html

from planning.selectors.cycles import company_time_text, company_zone

register = template.Library()


@register.filter
def when(value: dt.datetime | None, style: str = "") -> str:
    """A moment in the company's zone with the zone's abbreviation (empty for None)."""
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    zone = company_zone()
    if timezone.is_naive(value):
        value = timezone.make_aware(value, zone)
    local = value.astimezone(zone)
    text = company_time_text(local, style)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', local.isoformat(), zone.key, text
    )


@register.simple_tag
def company_zone_name() -> str:
    """The company's time zone, e.g. ``Europe/Amsterdam``."""
    return company_zone().key


@register.simple_tag
def company_zone_label() -> str:
    """``Europe/Amsterdam (CET, UTC+01:00)`` at this moment."""
    now = timezone.now().astimezone(company_zone())
    offset = now.strftime("%z")
    return f"{company_zone().key} ({now.tzname()}, UTC{offset[:3]}:{offset[3:]})"
