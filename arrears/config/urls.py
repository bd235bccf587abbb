from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from arrears.config.api import api
from arrears.portfolio import views as portfolio_views

urlpatterns = [
    path("", portfolio_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="core/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("arrears.portfolio.urls")),
    path("", include("arrears.cases.urls")),
    path("", include("arrears.delinquency.urls")),
    path("", include("arrears.accounts.urls")),
    path("", include("arrears.audit.urls")),
    path("", include("arrears.compliance.urls")),
    path("comms/", include("arrears.comms.urls")),
]
