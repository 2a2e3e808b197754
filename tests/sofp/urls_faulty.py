"""A URLconf for tests: the real site plus views that fail on purpose."""

import logging

from django.db import OperationalError
from django.http import HttpResponse
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from sofp.urls import urlpatterns as site_urlpatterns

handler500 = "sofp.errors.server_error"
logger = logging.getLogger("sofp.tests")


def broken_page(request):
    logger.error(
        "saving failed password=%s",
        "hunter2-secret",
        extra={"token": "tok-123", "cell": "PUMPS/2027-01"},
    )
    raise OperationalError("server closed the connection unexpectedly")


@api_view(["GET"])
@permission_classes([AllowAny])
def broken_api(request):
    raise OperationalError("server closed the connection unexpectedly")


def ok_page(request):
    logger.info("fine")
    return HttpResponse("ok")


urlpatterns = [
    path("test/broken/", broken_page),
    path("test/ok/", ok_page),
    path("api/v1/test/broken/", broken_api),
    *site_urlpatterns,
]
