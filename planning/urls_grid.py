"""URLs of the planner's grid (issue 6): the pages and their JSON endpoints."""

from django.urls import path

from planning import views_grid

GRID = "cycles/<month:month>/grid/<str:vs_code>/"
COMPANY = "cycles/<month:month>/company/"

urlpatterns = [
    path(GRID, views_grid.grid_page, name="grid"),
    path(GRID + "data/", views_grid.grid_data_view, name="grid-data"),
    path(GRID + "save/", views_grid.grid_save_view, name="grid-save"),
    path(GRID + "history/", views_grid.grid_history_view, name="grid-history"),
    path(GRID + "comment/", views_grid.grid_comment_view, name="grid-comment"),
    path(COMPANY, views_grid.company_page, name="company-grid"),
    path(COMPANY + "data/", views_grid.grid_data_view, name="company-grid-data"),
    path(COMPANY + "save/", views_grid.grid_save_view, name="company-grid-save"),
    path(COMPANY + "history/", views_grid.grid_history_view, name="company-grid-history"),
    path(COMPANY + "comment/", views_grid.grid_comment_view, name="company-grid-comment"),
]
