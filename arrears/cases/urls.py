from django.urls import path

from arrears.cases import views, views_queue

urlpatterns = [
    path("cases/", views.case_list_view, name="case_list"),
    path("cases/queue/", views_queue.queue_view, name="case_queue"),
    path("cases/queue/next/", views_queue.queue_next_view, name="case_queue_next"),
    path("cases/sla/", views_queue.sla_view, name="case_sla"),
    path("cases/<int:case_id>/", views.case_detail_view, name="case_detail"),
    # The case page's htmx parts (workspace).
    path("cases/<int:case_id>/history/", views.case_history_view, name="case_history"),
    path("cases/<int:case_id>/statuses/", views.case_statuses_view, name="case_statuses"),
    path("cases/<int:case_id>/activities/", views.case_activity_log_view, name="case_activity_log"),
    path("cases/<int:case_id>/holds/", views.case_hold_place_view, name="case_hold_place"),
    path(
        "cases/<int:case_id>/holds/<int:hold_id>/release/",
        views.case_hold_release_view,
        name="case_hold_release",
    ),
    path("cases/<int:case_id>/tasks/<int:task_id>/done/", views.case_task_done_view, name="case_task_done"),
    path(
        "cases/<int:case_id>/contact-points/<int:point_id>/",
        views.case_contact_point_view,
        name="case_contact_point",
    ),
    path("cases/<int:case_id>/protection/", views.case_protection_view, name="case_protection"),
]
