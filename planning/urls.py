from django.urls import path

from planning import views

urlpatterns = [
    path("", views.home, name="home"),
]
