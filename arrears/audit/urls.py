from django.urls import path

from arrears.audit import views

urlpatterns = [
    path("audit/", views.audit_list_view, name="audit_list"),
    path("audit/export.csv", views.audit_export_csv_view, name="audit_export_csv"),
    path(
        "reveal/contact-points/<int:contact_point_id>/",
        views.reveal_contact_view,
        name="reveal_contact",
    ),
    path(
        "reveal/customers/<int:customer_id>/id-number/",
        views.reveal_id_number_view,
        name="reveal_id_number",
    ),
]
