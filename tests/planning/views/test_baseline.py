"""The baseline page: per-family methods and reasons, compute, progress, cancel, rights."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from planning.models import BaselineRun
from planning.services.baseline import baseline_compute
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def jan(family_a, family_b):
    return CycleFactory(month=dt.date(2027, 1, 1), horizon=6, status="in_progress")


def test_page_lists_each_family_with_its_method_or_reason(client, sales_user, jan):
    baseline_compute(cycle=jan, n_jobs=1)
    client.force_login(sales_user)
    response = client.get(reverse("baseline", args=["2027-01"]))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-family="A-1"' in text and 'data-family="B-1"' in text
    assert "No sales history" in text
    assert "Compute baseline now" in text


def test_sales_computes_on_demand_and_sees_progress(
    client, sales_user, jan, django_capture_on_commit_callbacks, monkeypatch
):
    queued: list = []
    monkeypatch.setattr(
        "planning.services.baseline._enqueue_chunk", lambda r, c: queued.append((r, c))
    )
    client.force_login(sales_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("baseline-compute", args=["2027-01"]))
    assert response.status_code == 302
    run = BaselineRun.objects.get(cycle=jan)
    assert queued == [(run.pk, ["A-1", "B-1"])] and run.requested_by == sales_user
    status = client.get(reverse("baseline-status", args=["2027-01"])).json()
    assert status["status"] == "queued" and status["total"] == 2 and status["active"]
    page = client.get(reverse("baseline", args=["2027-01"])).content.decode()
    assert "Cancel" in page
    client.post(reverse("baseline-cancel", args=["2027-01"]))
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_executive_cannot_compute_and_frozen_cycle_refuses(client, executive, sales_user, jan):
    client.force_login(executive)
    response = client.post(reverse("baseline-compute", args=["2027-01"]))
    assert response.status_code == 403
    assert not BaselineRun.objects.exists()
    jan.status, jan.approved_at = "approved", dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    jan.save()
    client.force_login(sales_user)
    response = client.post(reverse("baseline-compute", args=["2027-01"]))
    assert response.status_code == 409
    assert "Compute baseline now" not in response.content.decode()


def test_status_needs_login_and_a_known_cycle(client, sales_user, jan):
    assert client.get(reverse("baseline-status", args=["2027-01"])).status_code == 401
    client.force_login(sales_user)
    assert client.get(reverse("baseline-status", args=["2031-01"])).status_code == 404
    assert client.get(reverse("baseline-status", args=["2027-01"])).json()["status"] == "none"
