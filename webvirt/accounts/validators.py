from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def parse_ssh_public_key(text):
    """The key as one line of text and its fingerprint, or a ValidationError: the account page and
    the new-guest form accept the same keys."""
    line = " ".join(text.split())
    try:
        key = serialization.load_ssh_public_key(line.encode())
    except UnsupportedAlgorithm:
        raise ValidationError(_("This type of SSH key is not supported: use ed25519, ECDSA or RSA.")) from None
    except ValueError:
        raise ValidationError(_("This is not an SSH public key (e.g. ssh-ed25519 AAAA… comment).")) from None
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    return line, "SHA256:" + digest.finalize().hex()
