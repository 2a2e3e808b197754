"""The company's settings are read once per request, and a save is seen at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from planning.models import Company
from planning.selectors.cycles import (
    COMPANY_TIME_ZONE_KEY,
    company_settings_memo,
    company_time_text,
    company_time_zone,
)

pytestmark = pytest.mark.django_db


def _company(zone: str) -> Company:
    company = Company.get()
    company.time_zone = zone
    company.save()
    return company


def test_a_request_asks_the_cache_once_however_many_moments_it_formats(monkeypatch):
    _company("Europe/Amsterdam")
    asked = []
    real_get = cache.get
    monkeypatch.setattr(
        cache, "get", lambda key, *a, **k: asked.append(key) or real_get(key, *a, **k)
    )
    moment = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    with company_settings_memo():
        texts = {company_time_text(moment) for _ in range(50)}
    assert texts == {"30 Nov 2026, 13:00 CET"}
    assert asked.count(COMPANY_TIME_ZONE_KEY) == 1
    # Outside a request (commands, tasks) nothing is kept between calls.
    company_time_zone()
    company_time_zone()
    assert asked.count(COMPANY_TIME_ZONE_KEY) == 3


def test_saving_the_company_inside_the_request_is_seen_by_the_rest_of_it():
    _company("Europe/Amsterdam")
    with company_settings_memo():
        assert company_time_zone() == "Europe/Amsterdam"
        _company("America/New_York")
        assert company_time_zone() == "America/New_York"


def test_the_request_keeps_what_it_read_without_asking_the_database_again():
    _company("Europe/Lisbon")
    company_time_zone()  # now in the cache
    with company_settings_memo(), CaptureQueriesContext(connection) as q:
        for _ in range(10):
            assert company_time_zone() == "Europe/Lisbon"
    assert len(q) == 0
