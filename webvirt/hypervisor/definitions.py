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
from .words import _, gettext_noop

ROOTS = {"guest": "domain", "pool": "pool", "network": "network"}
KIND_WORDS = {"guest": gettext_noop("guest"), "pool": gettext_noop("storage pool"), "network": gettext_noop("network")}


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
        if exc.lineno:
            message = _("The XML is not well-formed on line %(line)s: %(detail)s.")
        else:
            message = _("The XML is not well-formed: %(detail)s.")
        raise BadDefinition(message % {"line": exc.lineno, "detail": exc.msg}) from None
    if root.tag != ROOTS[kind]:
        raise BadDefinition(
            _("A %(kind)s's definition is a <%(root)s> element, not <%(tag)s>.")
            % {"kind": _(KIND_WORDS[kind]), "root": ROOTS[kind], "tag": root.tag}
        )
    new_name = (root.findtext("name") or "").strip()
    if new_name != name:
        raise BadDefinition(
            _("The name must stay %(name)s (the XML says %(new)s): editing the XML does not rename.")
            % {"name": name, "new": new_name or _("none")}
        )
    new_uuid = (root.findtext("uuid") or "").strip().lower()
    if new_uuid != uuid.lower():
        raise BadDefinition(
            _("The UUID must stay %(uuid)s (the XML says %(new)s).") % {"uuid": uuid, "new": new_uuid or _("none")}
        )


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
                raise HypervisorError(
                    _("The %(kind)s %(name)s is no longer defined on this host.")
                    % {"kind": _(KIND_WORDS[kind]), "name": name}
                ) from None
            raise
        if not obj.isPersistent():
            raise HypervisorError(
                _("The %(kind)s %(name)s is transient: it has no persistent definition to edit.")
                % {"kind": _(KIND_WORDS[kind]), "name": name}
            )
        current = read_definition(obj, kind)
        if digest(current) != base:
            raise HypervisorError(
                _(
                    "The definition of %(name)s changed on the host since it was shown; nothing was saved. "
                    "Open the XML page again to edit the current definition."
                )
                % {"name": name}
            )
        if digest(xml) == base:
            return _("Nothing to change.")
        if kind == "guest" and _has_console_password(obj):
            raise HypervisorError(
                _(
                    "%(name)s's console has a password, which webvirt does not show, so saving this XML would "
                    "remove it; nothing was saved. Edit this guest with virsh edit on its host."
                )
                % {"name": name}
            )
        try:
            _define(conn, kind, xml)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() not in _REFUSALS:
                raise
            raise translated(HypervisorError, exc, prefix=_("Nothing changed: ")) from None
        if obj.isActive():
            return _("Definition saved; it takes effect the next time it starts.")
        return _("Definition saved.")
