from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "webvirt.core"
    label = "core"

    def ready(self):
        from django.utils.translation import gettext, ngettext

        from webvirt.hypervisor import words

        from . import audit  # noqa: F401  (connects the login receivers)
        from .converters import register

        register()  # before any urls.py is imported
        words.use_translators(gettext, ngettext)  # the hypervisor package imports no Django
