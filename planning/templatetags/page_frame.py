"""Every HTML page's frame (the main navigation, its Plan menu, the account links)
written in Python.

The frame was ~150 template nodes (an ``{% if %}``, a ``{% url %}`` and a variable
lookup per link, two loops over the streams) that every page rendered on every request,
a few milliseconds each time. These tags write the same bytes (``base.html``'s old
markup, compared byte for byte in ``tests/planning/views/test_page_frame.py``) with
``format_html`` (every value escaped as the template escaped it) and the process's
cached ``reverse()``.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from sofp.templatetags.cached_urls import cached_reverse

register = template.Library()

# The Plan menu's and the main links' indentation, as base.html had them.
_NL = "\n      "


def _url(name: str, *args: Any) -> str:
    return conditional_escape(cached_reverse(name, list(args), {}, None))


def _active(url_name: str | None, *names: str) -> str:
    return "active" if url_name in names else ""


def _value(context: template.Context, key: str) -> Any:
    """A context value as a template reads it: a callable (the lazy menu parts of
    ``planning.context_processors.navigation``) is called."""
    value = context.get(key)
    return value() if callable(value) else value


def _plan_menu(context: template.Context, url_name: str | None) -> str:
    cycle = context.get("nav_cycle")
    if not cycle:
        return ""
    streams = _value(context, "nav_plan_streams")
    if not (streams or _value(context, "nav_plan_company")):
        return ""
    label = cycle.label
    grid_links = "".join(
        format_html(
            '<a href="{}">{} <span class="muted">{}</span></a>',
            _url("grid", label, vs.code),
            vs.code,
            vs.name,
        )
        for vs in streams
    )
    demand_links = "".join(
        format_html(
            '<a href="{}">{} <span class="muted">demand</span></a>',
            _url("demand", label, vs.code),
            vs.code,
        )
        for vs in streams
    )
    company = (
        format_html(
            '<a href="{}">Company <span class="muted">sustaining costs</span></a>',
            _url("company-grid", label),
        )
        if _value(context, "nav_plan_company")
        else ""
    )
    return (
        '\n      <details class="nav-menu">\n'
        f'        <summary class="{_active(url_name, "grid", "company-grid")}">Plan</summary>\n'
        '        <div class="nav-menu-list">\n'
        f'          <span class="nav-menu-head">Cycle {conditional_escape(label)}</span>\n'
        f"          {grid_links}\n"
        '          <span class="nav-menu-head">Demand view (step 1)</span>\n'
        f"          {demand_links}\n"
        f'          <a href="{_url("assumptions", label)}">Assumptions'
        ' <span class="muted">register</span></a>\n'
        f'          <a href="{_url("launches", label)}">NPD launches'
        ' <span class="muted">register</span></a>\n'
        '          <span class="nav-menu-head">Step 3</span>\n'
        f'          <a href="{_url("reconcile", label)}">Reconcile streams'
        ' <span class="muted">side by side</span></a>\n'
        f'          <a href="{_url("scenarios", label)}">Scenarios'
        ' <span class="muted">what-if copies</span></a>\n'
        '          <span class="nav-menu-head">Step 4</span>\n'
        f'          <a href="{_url("cycle_prices", label)}">Prices and costs</a>\n'
        f"          {company}\n"
        "        </div>\n"
        "      </details>\n      "
    )


@register.simple_tag(takes_context=True)
def main_nav(context: template.Context) -> SafeString:
    """The main links and the Plan menu (what ``{% block nav %}`` held)."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    url_name = getattr(match, "url_name", None)
    links = (
        ("review", "Review", ("review", "cycle_review")),
        ("value_stream_list", "Value streams", ("value_stream_list", "value_stream_dashboard")),
        ("cycle_list", "Cycles", ("cycle_list", "cycle_detail")),
        ("decisions_log", "Decisions", ("decisions_log",)),
    )
    parts = [
        f'<a href="{_url("home")}" class="{_active(url_name, "home")}">Home</a>',
        _NL,
        _plan_menu(context, url_name),
    ]
    for name, text, active_for in links:
        parts.append(_NL)
        parts.append(f'<a href="{_url(name)}" class="{_active(url_name, *active_for)}">{text}</a>')
    return mark_safe("".join(parts))


@register.simple_tag(takes_context=True)
def account_links(context: template.Context) -> SafeString:
    """The notifications link with its unread count, the user's name and the admin link."""
    unread = _value(context, "nav_unread_count")
    user = context["user"]
    badge = format_html('<span class="nav-badge">{}</span>', unread) if unread else ""
    label = format_html(", {} unread", unread) if unread else ""
    admin = format_html('<a href="{}">Admin</a>', _url("admin:index")) if user.is_staff else ""
    return format_html(
        '<a href="{}" class="nav-notifications" aria-label="Notifications{}">Notifications{}</a>'
        '\n      <a href="{}" class="user-chip" title="Signed in; change your password">{}</a>'
        "\n      {}",
        _url("notifications"),
        label,
        badge,
        _url("password_change"),
        user.get_full_name() or user.username,
        admin,
    )
