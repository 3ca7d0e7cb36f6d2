"""Changes to a user's account make their open consoles ask the policy again."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from webvirt.core import events


@receiver(post_save, sender=get_user_model())
@receiver(post_delete, sender=get_user_model())
def user_changed(sender, instance, created=False, update_fields=None, **kwargs):
    if created or (update_fields and set(update_fields) <= {"last_login"}):  # nothing that changes access
        return
    events.publish("access.changed", groups=[events.user_group(instance.pk)], user_id=instance.pk)
