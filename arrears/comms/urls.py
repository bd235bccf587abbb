from django.urls import path

from arrears.comms import (
    views_cadences,
    views_case,
    views_letters,
    views_outbox,
    views_reminders,
    views_templates,
    views_visits,
)

urlpatterns = [
    # Field visits (外访).
    path("visits/today/", views_visits.visit_today_view, name="visit_today"),
    path("visits/plan/<int:case_id>/", views_visits.visit_plan_view, name="visit_plan"),
    path("visits/<int:visit_id>/", views_visits.visit_detail_view, name="visit_detail"),
    path("visits/<int:visit_id>/record/", views_visits.visit_record_view, name="visit_record"),
    path("visits/<int:visit_id>/cancel/", views_visits.visit_cancel_view, name="visit_cancel"),
    path(
        "visits/<int:visit_id>/address/", views_visits.visit_address_reveal_view, name="visit_address_reveal"
    ),
    path(
        "visits/<int:visit_id>/attachments/",
        views_visits.visit_attachment_add_view,
        name="visit_attachment_add",
    ),
    path(
        "visits/attachments/<int:attachment_id>/",
        views_visits.visit_attachment_download_view,
        name="visit_attachment_download",
    ),
    # Letters (信函): printed batches, their downloads, printing the waiting letters.
    path("letters/", views_letters.letters_page, name="comms_letters"),
    path("letters/print/", views_letters.letters_print, name="comms_letters_print"),
    path(
        "letters/<int:batch_id>/<str:kind>/",
        views_letters.letters_download,
        name="comms_letters_download",
    ),
    # Message templates (消息模板) and the outbox (发件箱).
    path("templates/", views_templates.template_list_view, name="comms_template_list"),
    path("templates/new/", views_templates.template_new_view, name="comms_template_new"),
    path("templates/<int:template_id>/", views_templates.template_detail_view, name="comms_template_detail"),
    path(
        "templates/<int:template_id>/preview/",
        views_templates.template_preview_view,
        name="comms_template_preview",
    ),
    path(
        "templates/<int:template_id>/versions/<int:version_id>/approve/",
        views_templates.template_version_approve_view,
        name="comms_template_version_approve",
    ),
    path(
        "templates/<int:template_id>/versions/<int:version_id>/reject/",
        views_templates.template_version_reject_view,
        name="comms_template_version_reject",
    ),
    path("outbox/", views_outbox.outbox_list_view, name="comms_outbox"),
    path("outbox/<int:message_id>/", views_outbox.outbox_detail_view, name="comms_outbox_detail"),
    path("outbox/<int:message_id>/cancel/", views_outbox.outbox_cancel_view, name="comms_outbox_cancel"),
    # Cadences (催收节奏): which messages go out when, per product × bucket group.
    path("cadences/", views_cadences.cadence_list_view, name="comms_cadences"),
    path("cadences/new/", views_cadences.cadence_create_view, name="comms_cadence_create"),
    path("cadences/<int:cadence_id>/", views_cadences.cadence_detail_view, name="comms_cadence_detail"),
    path(
        "cadences/<int:cadence_id>/active/", views_cadences.cadence_active_view, name="comms_cadence_active"
    ),
    path(
        "cadences/<int:cadence_id>/steps/",
        views_cadences.cadence_step_add_view,
        name="comms_cadence_step_add",
    ),
    path(
        "cadences/<int:cadence_id>/steps/<int:step_id>/",
        views_cadences.cadence_step_change_view,
        name="comms_cadence_step_change",
    ),
    path(
        "cadences/<int:cadence_id>/steps/<int:step_id>/remove/",
        views_cadences.cadence_step_remove_view,
        name="comms_cadence_step_remove",
    ),
    # The reminder desk (还款提醒): the day's pre-due calls and their outcomes.
    path("reminders/", views_reminders.reminder_desk_view, name="comms_reminders"),
    path(
        "reminders/<int:reminder_id>/outcome/",
        views_reminders.reminder_outcome_view,
        name="comms_reminder_outcome",
    ),
    path(
        "reminders/<int:reminder_id>/mobile/",
        views_reminders.reminder_mobile_reveal_view,
        name="comms_reminder_mobile",
    ),
    # A case's messages: the case page's panel and its send form.
    path("cases/<int:case_id>/messages/", views_case.case_messages_view, name="case_messages"),
    path("cases/<int:case_id>/messages/send/", views_case.case_message_send_view, name="case_message_send"),
]
