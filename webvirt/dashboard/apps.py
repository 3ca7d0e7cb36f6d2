from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "webvirt.dashboard"
    label = "dashboard"
