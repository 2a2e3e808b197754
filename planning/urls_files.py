from django.urls import path

from planning import views_files

urlpatterns = [
    path("cycles/<month:month>/upload/", views_files.plan_upload, name="plan_upload"),
    path("cycles/<month:month>/download/", views_files.plan_download, name="plan_download"),
]
