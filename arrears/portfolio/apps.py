from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "arrears.portfolio"
    label = "portfolio"
