"""Every page's frame written in Python (``planning/templatetags/page_frame.py``) is the
old template's, byte for byte, for every role.

The reference is ``base.html`` as it was before (``reference/base_before_fastpage.html``),
put in front of the project's templates by a locmem loader: each page is rendered with
the old frame and the new one, and the two pages compared whole (only the CSRF token,
masked afresh on every render, is set aside).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from planning.models import Notification
from tests.factories import CycleFactory, MembershipFactory, UserFactory, ValueStreamFactory

pytestmark = pytest.mark.django_db

_REFERENCE = (Path(__file__).parent / "reference" / "base_before_fastpage.html").read_text()
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _old_frame_templates() -> list[dict]:
    engine = dict(settings.TEMPLATES[0])
    options = dict(engine["OPTIONS"])
    options["loaders"] = [
        ("django.template.loaders.locmem.Loader", {"base.html": _REFERENCE}),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    engine["OPTIONS"] = options
    engine["APP_DIRS"] = False
    return [engine]


def _page(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code in (200, 403), (url, response.status_code)
    return _CSRF.sub(b"csrf", response.content)


@pytest.fixture
def world(db, stream_a, stream_b):
    """A current cycle (so the Plan menu shows), streams whose names need escaping."""
    ValueStreamFactory(code="C&D", name='<Cats> & "Dogs"')
    today = timezone.localdate()
    return CycleFactory(month=today.replace(day=1))


def _users(stream_a) -> dict:
    planner = UserFactory(username="fp_planner", first_name="Ann <b>", last_name="O'Neil")
    MembershipFactory(user=planner, value_stream=stream_a)
    manager = UserFactory(username="fp_manager")
    MembershipFactory(user=manager, value_stream=stream_a, role="manager")
    return {
        "executive": UserFactory(username="fp_exec", roles=["executive"]),
        "finance": UserFactory(username="fp_fin", roles=["finance"]),
        "sales": UserFactory(username="fp_sales", roles=["sales"]),
        "planner": planner,
        "manager": manager,
        "admin": UserFactory(username="fp_root", is_staff=True, is_superuser=True),
        "no stream": UserFactory(username="fp_nobody"),
    }


@pytest.mark.parametrize(
    "role", ["executive", "finance", "sales", "planner", "manager", "admin", "no stream"]
)
def test_every_page_frame_equals_the_old_templates(client, world, stream_a, role):
    user = _users(stream_a)[role]
    if role in ("planner", "executive"):  # the unread badge, and one read that no longer counts
        Notification.objects.create(user=user, kind="test", title="<unread>")
        Notification.objects.create(user=user, kind="test", title="read", read_at=timezone.now())
    client.force_login(user)
    label = world.label
    urls = [
        "/",
        f"/cycles/{label}/grid/A/",
        f"/cycles/{label}/demand/A/",
        f"/cycles/{label}/company/",
        "/accounts/password/",
        "/notifications/",
        "/value-streams/",
        "/cycles/",
        "/decisions/",
    ]
    for url in urls:
        new = _page(client, url)
        with override_settings(TEMPLATES=_old_frame_templates()):
            old = _page(client, url)
        assert new == old, url
        assert b"nav-notifications" in new, url


def test_the_unread_count_follows_a_bulk_mark_read(client, world, stream_a):
    """Notifications are marked read with update(): the badge is never kept across it."""
    user = _users(stream_a)["planner"]
    Notification.objects.create(user=user, kind="test", title="one")
    client.force_login(user)
    assert b'<span class="nav-badge">1</span>' in client.get("/").content
    Notification.objects.filter(user=user).update(read_at=timezone.now())
    html = client.get("/").content
    assert b"nav-badge" not in html and b"Notifications, " not in html


def test_the_grid_page_reads_the_streams_once(client, world, stream_a):
    """The stream switch and the Plan menu share one read of the visible streams."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = _users(stream_a)["executive"]
    client.force_login(user)
    url = f"/cycles/{world.label}/grid/A/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    # Whole stream rows, not the one stream looked up by its code: the visible streams.
    stream_lists = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "valuestreams_valuestream"' in q["sql"]
        and '"valuestreams_valuestream"."headcount"' in q["sql"]
        and '"valuestreams_valuestream"."code" =' not in q["sql"]
    ]
    assert len(stream_lists) == 1, stream_lists


def test_no_today_cycle_hides_the_plan_menu_in_both(client, stream_a):
    user = _users(stream_a)["executive"]
    CycleFactory(month=dt.date(2000, 1, 1))
    client.force_login(user)
    new = _page(client, "/")
    with override_settings(TEMPLATES=_old_frame_templates()):
        old = _page(client, "/")
    assert new == old


@pytest.mark.parametrize(
    "role", ["executive", "finance", "sales", "planner", "manager", "admin", "no stream"]
)
def test_the_frames_prepared_reads_equal_the_selectors(world, stream_a, role):
    """The menu's streams and the unread count, read with SQL compiled once, equal
    ``value_streams_visible`` and the notifications' count (inactive streams, other
    users' notifications and read ones left out alike)."""
    from planning.context_processors import streams_visible, unread_notifications
    from valuestreams.selectors import value_streams_visible

    ValueStreamFactory(code="OLD", name="Inactive", active=False)
    users = _users(stream_a)
    user = users[role]
    other = users["finance" if role != "finance" else "sales"]
    Notification.objects.create(user=user, kind="test", title="a")
    Notification.objects.create(user=user, kind="test", title="b")
    Notification.objects.create(user=user, kind="test", title="c", read_at=timezone.now())
    Notification.objects.create(user=other, kind="test", title="d")
    expected = list(value_streams_visible(user=user))
    got = streams_visible(user)
    assert [(v.pk, v.code, v.name, v.kind, v.headcount, v.active) for v in got] == [
        (v.pk, v.code, v.name, v.kind, v.headcount, v.active) for v in expected
    ]
    assert unread_notifications(user) == user.notifications.filter(read_at__isnull=True).count()
    assert unread_notifications(user) == 2
    assert unread_notifications(UserFactory(username="fp_none")) == 0
