from django.urls import path

from planning import views_dashboard

urlpatterns = [
    path("review/", views_dashboard.review, name="review"),
    path("cycles/<month:month>/review/", views_dashboard.review, name="cycle_review"),
]
