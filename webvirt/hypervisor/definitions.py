"""Persistent definitions (libvirt XML) of guests, pools and networks, as virsh edit gives them.

Admins edit the XML; it is checked here before anything is sent (well-formed, same kind, same name
and UUID), then libvirt validates it against its schema while defining it. A definition that
changed on the host since the admin read it is not overwritten.
"""

import hashlib

import libvirt
from lxml import etree

from .connection import session
from .errors import HypervisorError, translated

ROOTS = {"guest": "domain", "pool": "pool", "network": "network"}


class BadDefinition(HypervisorError):
    """XML that must not be sent to libvirt; the message says what to fix."""


def digest(text):
    """What an edit was based on, to notice a definition that changed meanwhile."""
    return hashlib.sha256(normalize(text).encode()).hexdigest()


def normalize(text):
    """Line endings as libvirt writes them (a browser's textarea sends CRLF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check(kind, text, *, name, uuid):
    """Refuse XML that is malformed, of another kind, or renames or re-identifies the object."""
    try:
        root = etree.fromstring(normalize(text).encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        line = f" on line {exc.lineno}" if exc.lineno else ""
        raise BadDefinition(f"The XML is not well-formed{line}: {exc.msg}.") from None
    if root.tag != ROOTS[kind]:
        raise BadDefinition(f"A {kind}'s definition is a <{ROOTS[kind]}> element, not <{root.tag}>.")
    new_name = (root.findtext("name") or "").strip()
    if new_name != name:
        raise BadDefinition(
            f"The name must stay {name} (the XML says {new_name or 'none'}): editing the XML does not rename."
        )
    new_uuid = (root.findtext("uuid") or "").strip().lower()
    if new_uuid != uuid.lower():
        raise BadDefinition(f"The UUID must stay {uuid} (the XML says {new_uuid or 'none'}).")


def read_definition(obj, kind):
    """The persistent definition; drivers without an inactive view (the test driver's pools and
    networks) give their only one."""
    flag = {
        "guest": libvirt.VIR_DOMAIN_XML_INACTIVE,
        "pool": libvirt.VIR_STORAGE_XML_INACTIVE,
        "network": libvirt.VIR_NETWORK_XML_INACTIVE,
    }[kind]
    try:
        return obj.XMLDesc(flag)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        return obj.XMLDesc(0)


_LOOKUP = {
    "guest": ("lookupByUUIDString", libvirt.VIR_ERR_NO_DOMAIN),
    "pool": ("storagePoolLookupByUUIDString", libvirt.VIR_ERR_NO_STORAGE_POOL),
    "network": ("networkLookupByUUIDString", libvirt.VIR_ERR_NO_NETWORK),
}


# What libvirt says when it refuses the XML itself (schema, values, features the host lacks).
_REFUSALS = {
    libvirt.VIR_ERR_XML_ERROR,
    libvirt.VIR_ERR_XML_DETAIL,
    libvirt.VIR_ERR_XML_INVALID_SCHEMA,
    libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
    libvirt.VIR_ERR_INVALID_ARG,
    libvirt.VIR_ERR_OPERATION_INVALID,
    libvirt.VIR_ERR_INTERNAL_ERROR,
}


def _define(conn, kind, xml):
    if kind == "guest":
        return conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    if kind == "pool":
        return conn.storagePoolDefineXML(xml, libvirt.VIR_STORAGE_POOL_DEFINE_VALIDATE)
    return conn.networkDefineXMLFlags(xml, libvirt.VIR_NETWORK_DEFINE_VALIDATE)


def _has_console_password(domain):
    """Passwords are left out of the XML shown (no VIR_DOMAIN_XML_SECURE), so an edit would drop them."""
    secure = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
    return bool(etree.fromstring(secure.encode()).xpath("devices/graphics[@passwd]"))


def redefine(spec, kind, uuid, xml, *, name, base):
    """Replace the persistent definition of the guest, pool or network `uuid` with `xml`, which
    libvirt validates against its schema; `base` is the digest of the definition the edit started
    from. Returns a note on when the change takes effect."""
    check(kind, xml, name=name, uuid=uuid)
    xml = normalize(xml)
    lookup, missing = _LOOKUP[kind]
    with session(spec) as conn:
        try:
            obj = getattr(conn, lookup)(uuid)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == missing:
                raise HypervisorError(f"The {kind} {name} is no longer defined on this host.") from None
            raise
        if not obj.isPersistent():
            raise HypervisorError(f"The {kind} {name} is transient: it has no persistent definition to edit.")
        current = read_definition(obj, kind)
        if digest(current) != base:
            raise HypervisorError(
                f"The definition of {name} changed on the host since it was shown; nothing was saved. "
                "Open the XML page again to edit the current definition."
            )
        if digest(xml) == base:
            return "Nothing to change."
        if kind == "guest" and _has_console_password(obj):
            raise HypervisorError(
                f"{name}'s console has a password, which webvirt does not show, so saving this XML would "
                "remove it; nothing was saved. Edit this guest with virsh edit on its host."
            )
        try:
            _define(conn, kind, xml)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() not in _REFUSALS:
                raise
            raise translated(HypervisorError, exc, prefix="Nothing changed: ") from None
        if obj.isActive():
            return "Definition saved; it takes effect the next time it starts."
        return "Definition saved."
