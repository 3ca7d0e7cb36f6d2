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
from django.db import transaction
from django.utils import timezone

from webvirt.core import audit, policy

from .models import ApiToken

PREFIX = "wvt_"
LAST_USED_PRECISION = timedelta(minutes=1)  # write last_used_at at most this often


def _hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_token(*, actor, user, name, scope, expires_at=None):
    """Returns (token row, the whole key); the key is never stored and cannot be shown again."""
    if actor != user:
        policy.require(actor, "user.manage")
    if user.api_tokens.filter(name=name).exists():
        raise ValidationError(f"You already have a token named {name}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry must be in the future.")
    prefix = secrets.token_hex(6)
    key = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, key_hash=_hash(key), scope=scope, expires_at=expires_at
    )
    audit.record(actor, "token.create", f"{user.get_username()}: {name}", scope=scope, prefix=prefix)
    return token, key


@transaction.atomic
def revoke_token(*, actor, token):
    if actor != token.user:
        policy.require(actor, "user.manage")
    audit.record(actor, "token.revoke", f"{token.user.get_username()}: {token.name}", prefix=token.prefix)
    token.delete()


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
