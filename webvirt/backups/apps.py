from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "webvirt.backups"
    label = "backups"

    def ready(self):
        from webvirt.accounts.quotas import count_owned
        from webvirt.guests.views import register_tab

        from . import actions, quotas, rules, views

        rules.register()
        count_owned(quotas.owned_by)
        register_tab("backups", actions.TAB_LABEL, "backup", views.tab_context, after="snapshots")
