from django.urls import path

from arrears.cases import views

urlpatterns = [
    path("cases/", views.case_list_view, name="case_list"),
    path("cases/<int:case_id>/", views.case_detail_view, name="case_detail"),
]
