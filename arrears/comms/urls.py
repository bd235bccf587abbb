from django.urls import path

from arrears.comms import views_visits

urlpatterns = [
    # Field visits (外访).
    path("visits/today/", views_visits.visit_today_view, name="visit_today"),
    path("visits/plan/<int:case_id>/", views_visits.visit_plan_view, name="visit_plan"),
    path("visits/<int:visit_id>/", views_visits.visit_detail_view, name="visit_detail"),
    path("visits/<int:visit_id>/record/", views_visits.visit_record_view, name="visit_record"),
    path("visits/<int:visit_id>/cancel/", views_visits.visit_cancel_view, name="visit_cancel"),
    path("visits/<int:visit_id>/attachments/", views_visits.visit_attachment_add_view, name="visit_attachment_add"),
    path(
        "visits/attachments/<int:attachment_id>/",
        views_visits.visit_attachment_download_view,
        name="visit_attachment_download",
    ),
]
