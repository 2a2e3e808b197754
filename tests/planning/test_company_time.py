"""One time zone on every page, the company's, named (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template

from planning.models import Company
from tests.dashboard_data import build_company
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2027, 1, 4, 8, 30, tzinfo=dt.UTC)


def _zone(name: str) -> None:
    company = Company.get()
    company.time_zone = name
    company.save()


def test_when_shows_the_company_zone_whatever_the_active_zone():
    _zone("America/New_York")
    html = Template("{{ t|when }}|{{ t|when:'time' }}").render(Context({"t": MOMENT}))
    assert "4 Jan 2027, 03:30 EST" in html and "03:30 EST" in html
    assert 'title="America/New_York"' in html and 'datetime="2027-01-04T03:30:00-05:00"' in html
    _zone("Asia/Tokyo")
    assert "17:30 JST" in Template("{{ t|when }}").render(Context({"t": MOMENT}))
    assert Template("{{ t|when }}").render(Context({"t": None})) == ""


def test_every_page_names_the_zone(client):
    _zone("Europe/Amsterdam")
    build_company(streams=1, families=2, month=dt.date(2027, 1, 1), previous=1)
    client.force_login(UserFactory(username="boss", roles=["executive"]))
    for url in ("/", "/cycles/", "/cycles/2027-01/", "/review/", "/notifications/"):
        html = client.get(url).content.decode()
        assert "All times are in the company's time zone, Europe/Amsterdam" in html, url
        assert 'data-time-zone="Europe/Amsterdam"' in html, url


def test_cycle_page_times_carry_the_zone(client):
    _zone("Europe/Amsterdam")
    build_company(streams=1, families=2, month=dt.date(2027, 1, 1), previous=1)
    client.force_login(UserFactory(username="boss", roles=["executive"]))
    html = client.get("/cycles/2027-01/").content.decode()
    assert 'title="Europe/Amsterdam"' in html and " CET</time>" in html
