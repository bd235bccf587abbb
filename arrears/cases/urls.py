from django.urls import path

from arrears.cases import views, views_queue

urlpatterns = [
    path("cases/", views.case_list_view, name="case_list"),
    path("cases/queue/", views_queue.queue_view, name="case_queue"),
    path("cases/queue/next/", views_queue.queue_next_view, name="case_queue_next"),
    path("cases/sla/", views_queue.sla_view, name="case_sla"),
    path("cases/<int:case_id>/", views.case_detail_view, name="case_detail"),
]
