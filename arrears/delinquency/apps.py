from django.apps import AppConfig


class DelinquencyConfig(AppConfig):
    name = "arrears.delinquency"
    label = "delinquency"
