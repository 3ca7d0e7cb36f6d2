"""Personal API tokens: made, checked and revoked here, and nowhere else.

A token reads `wvt_<prefix>_<secret>`. The prefix finds the row; the SHA-256 of the whole token,
compared in constant time, proves it. Tokens carry 256 random bits, so a fast hash is enough
(a slow one guards guessable passwords, not random keys).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ApiToken

PREFIX = "wvt_"
LAST_USED_PRECISION = timedelta(minutes=1)  # write last_used_at at most this often


def _hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def issue(*, user, name, scope, expires_at=None):
    """A new token for `user`: returns (row, the whole key). Called by the token.create action."""
    if user.api_tokens.filter(name=name).exists():
        raise ValidationError(_("You already have a token named %(name)s.") % {"name": name})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(_("The expiry must be in the future."))
    prefix = secrets.token_hex(6)
    key = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, key_hash=_hash(key), scope=scope, expires_at=expires_at
    )
    return token, key


def authenticate(key):
    """The live token this key proves (its user active, not expired), or None."""
    if not key.startswith(PREFIX) or key.count("_") < 2:
        return None
    prefix = key[len(PREFIX) :].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, _hash(key)):
        return None
    now = timezone.now()
    if (token.expires_at and token.expires_at <= now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
