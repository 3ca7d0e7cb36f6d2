"""Encryption at rest for host credentials (Fernet: AES-CBC + HMAC, from `cryptography`)."""

import base64
import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@cache
def _fernet(key_material):
    if settings.CREDENTIALS_KEY:
        return Fernet(settings.CREDENTIALS_KEY.encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"webvirt host credentials").derive(
        key_material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_json(data):
    return _fernet(settings.SECRET_KEY).encrypt(json.dumps(data).encode()).decode()


def decrypt_json(token):
    if not token:
        return {}
    try:
        return json.loads(_fernet(settings.SECRET_KEY).decrypt(token.encode()))
    except InvalidToken:
        raise ValueError("Stored credentials cannot be decrypted: was the key changed?") from None
