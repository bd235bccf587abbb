from django.urls import path

from arrears.delinquency import views

urlpatterns = [
    path("eod/", views.eod_page_view, name="eod_page"),
    path("eod/runs/", views.eod_runs_view, name="eod_runs"),
]
