"""Telling an owner that a lease ends soon: in the app always (the guest page, the banner and the
task pane read the guest's row), and by email where the deployment configures a mail server."""

from django.conf import settings
from django.core.mail import send_mail
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _


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
