from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "arrears.audit"
    label = "audit"

    def ready(self) -> None:
        # Logins and logouts are auth plumbing: Django announces them only through signals.
        from arrears.audit import receivers  # noqa: F401
