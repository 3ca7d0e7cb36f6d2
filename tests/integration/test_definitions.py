"""Editing a guest's libvirt XML on the real local libvirtd, through the XML page and an Operation."""

import re

import pytest

from webvirt.core.models import Operation
from webvirt.hypervisor.definitions import digest

from .conftest import virsh

pytestmark = pytest.mark.libvirtd


def _apply(client, guest, xml, capture):
    with capture(execute=True):
        data = {"xml": xml, "base": digest(guest.definition), "step": "apply", "previewed": digest(xml)}
        client.post(f"/guests/{guest.pk}/xml/", data)
    return Operation.objects.filter(kind="guest.define-xml").latest("pk")


def test_edit_a_guests_xml_and_see_it_applied(admin_client, tiny_guest, django_capture_on_commit_callbacks):
    assert "<memory unit='KiB'>65536</memory>" in tiny_guest.definition
    edited = re.sub(r"(<memory|<currentMemory)( unit='KiB'>)65536<", r"\g<1>\g<2>98304<", tiny_guest.definition)
    edited = edited.replace("</uuid>", "</uuid>\n  <description>edited as XML</description>", 1)
    preview = admin_client.post(f"/guests/{tiny_guest.pk}/xml/", {"xml": edited, "step": "preview"})
    assert "+  &lt;description&gt;edited as XML&lt;/description&gt;" in preview.content.decode()

    operation = _apply(admin_client, tiny_guest, edited, django_capture_on_commit_callbacks)
    assert operation.status == "succeeded", operation.message
    dumped = virsh("dumpxml", "--inactive", tiny_guest.name).stdout
    assert "<memory unit='KiB'>98304</memory>" in dumped
    assert "<description>edited as XML</description>" in dumped
    tiny_guest.refresh_from_db()
    assert (tiny_guest.memory_mib, tiny_guest.description) == (96, "edited as XML")
    assert tiny_guest.definition == dumped

    # libvirt's own validation, on a definition that is well-formed and keeps name and UUID.
    refused = _apply(
        admin_client, tiny_guest, dumped.replace("</devices>", "</devices><bogus/>"), django_capture_on_commit_callbacks
    )
    assert refused.status == "failed"
    assert refused.message.startswith("Nothing changed: libvirt refused the XML")
    assert "bogus" in refused.detail
    assert virsh("dumpxml", "--inactive", tiny_guest.name).stdout == dumped
