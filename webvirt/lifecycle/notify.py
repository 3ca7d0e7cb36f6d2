"""Telling an owner that a lease ends soon: in the app always (the guest page, the banner and the
task pane read the guest's row), and by email where the deployment configures a mail server.

The mail is a task of its own, sent once beat's round has committed: a slow or absent mail server
delays neither the round nor the other guests' steps, and a refused delivery is tried again."""

import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from webvirt.guests.models import Guest


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=60, max_retries=5)
def mail_lease_warning(guest_id):
    guest = Guest.objects.select_related("host", "owner__profile").filter(pk=guest_id).first()
    return bool(guest and guest.expires_at and lease_ends_soon(guest))


def lease_ends_soon(guest):
    """Email the owner, if mail is configured and they have an address; returns whether it was sent."""
    owner = guest.owner
    if not (settings.EMAIL_HOST and owner and owner.email):
        return False
    language = getattr(getattr(owner, "profile", None), "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        when = formats.date_format(timezone.localtime(guest.expires_at), "DATETIME_FORMAT")
        words = {"name": guest.name, "host": guest.host.name, "when": when}
        subject = _("The lease of %(name)s ends on %(when)s") % words
        body = _(
            "The lease of your guest %(name)s on %(host)s ends on %(when)s. It will then be shut down.\n\n"
            "To keep it, renew its lease on its page:\n%(url)s\n"
        ) % {**words, "url": f"{settings.WEBVIRT_BASE_URL}{guest.get_absolute_url()}?tab=lease"}
    send_mail(subject, body, None, [owner.email])
    return True
