from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "webvirt.core"
    label = "core"
