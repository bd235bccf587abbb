from django.urls import path

from arrears.compliance import views

urlpatterns = [
    path("compliance/packs/", views.pack_list_view, name="compliance_pack_list"),
    path("compliance/packs/<str:pack_id>/", views.pack_detail_view, name="compliance_pack_detail"),
    path("compliance/decisions/", views.decision_list_view, name="compliance_decision_list"),
]
