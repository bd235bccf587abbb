from django.urls import path

from arrears.portfolio import views

urlpatterns = [
    path("accounts/", views.account_list_view, name="account_list"),
    path("accounts/<int:account_id>/", views.account_detail_view, name="account_detail"),
    path("imports/", views.import_page_view, name="import_page"),
    path("imports/<int:batch_id>/", views.import_detail_view, name="import_detail"),
    path("imports/<int:batch_id>/status/", views.import_status_view, name="import_status"),
    path("imports/<int:batch_id>/errors.csv", views.import_errors_csv_view, name="import_errors_csv"),
    path("imports/<int:batch_id>/errors.xlsx", views.import_errors_xlsx_view, name="import_errors_xlsx"),
]
