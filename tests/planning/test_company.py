"""The company's settings: reading never writes, and the time zone costs no query."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from planning.middleware import CompanyTimezoneMiddleware
from planning.models import Company

pytestmark = pytest.mark.django_db


def test_the_company_row_comes_from_a_migration(company):
    assert Company.objects.count() == 1
    assert Company.get() == company and company.reminder_hours_before == [24, 2]


def test_reading_the_company_never_inserts_it():
    Company.objects.all().delete()
    company = Company.get()
    assert company.pk is None and company.time_zone == "Europe/Amsterdam"
    assert Company.objects.count() == 0


def _zone_seen(middleware) -> str:
    seen = {}

    def view(request):
        seen["zone"] = str(timezone.get_current_timezone())
        return HttpResponse("ok")

    middleware.get_response = view
    middleware(RequestFactory().get("/"))
    return seen["zone"]


def test_the_time_zone_middleware_queries_once_then_never(company, django_assert_num_queries):
    middleware = CompanyTimezoneMiddleware(lambda request: HttpResponse())
    with django_assert_num_queries(1):
        assert _zone_seen(middleware) == "Europe/Amsterdam"
    with django_assert_num_queries(0):
        for _ in range(3):
            assert _zone_seen(middleware) == "Europe/Amsterdam"


def test_saving_the_company_changes_the_zone_of_the_next_request(company):
    middleware = CompanyTimezoneMiddleware(lambda request: HttpResponse())
    assert _zone_seen(middleware) == "Europe/Amsterdam"
    company.time_zone = "America/New_York"
    company.save()
    assert _zone_seen(middleware) == "America/New_York"
