from django.urls import path

from arrears.accounts import views

urlpatterns = [
    path("security/", views.security_view, name="security"),
    path("security/two-factor/setup/", views.second_factor_setup_view, name="second_factor_setup"),
    path("security/two-factor/verify/", views.second_factor_verify_view, name="second_factor_verify"),
    path("security/two-factor/disable/", views.second_factor_disable_view, name="second_factor_disable"),
]
