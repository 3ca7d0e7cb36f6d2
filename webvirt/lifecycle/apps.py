from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "webvirt.lifecycle"
    label = "lifecycle"

    def ready(self):
        from webvirt.guests.views import register_tab

        from . import actions, views

        register_tab(
            "lease", actions.TAB_LABEL, None, views.tab_context, after="snapshots", template="lifecycle/_tab_lease.html"
        )
