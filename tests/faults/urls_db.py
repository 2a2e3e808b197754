"""Views that hold a database query open, so a test can cut the connection under them."""

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.response import Response

from sofp.urls import urlpatterns as site_urlpatterns

handler500 = "sofp.errors.server_error"


def _slow_query() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(3)")


def slow_page(request):
    _slow_query()
    return HttpResponse("done")


@api_view(["GET"])
def slow_api(request):
    _slow_query()
    return Response({"done": True})


urlpatterns = [
    path("test/slow-db/", slow_page),
    path("api/v1/test/slow-db/", slow_api),
    *site_urlpatterns,
]
