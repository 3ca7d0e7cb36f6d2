"""Editing the libvirt XML of a guest, pool or network (admins only), as `virsh edit` does.

The inventory row holds the persistent definition as last read (`definition`); the page shows it,
previews an edit as a unified diff against it, and queues `<kind>.define-xml`, whose worker has
libvirt validate and define it (hypervisor/definitions.py), then re-reads the inventory. An edit
is based on the definition shown (its digest): one changed meanwhile is refused, never overwritten.
"""

import contextlib
import difflib
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.hypervisor import HypervisorError
from webvirt.hypervisor import definitions as xml_definitions

from . import flash, policy
from .actions import Action, declare, perform

PERMISSION = "xml.edit"
MAX_XML_CHARS = 1_000_000


@dataclass(frozen=True)
class NewDefinition:
    xml: str
    base: str  # the digest of the definition the edit started from


def refuse_bad(kind, target, params):
    """Raise ValidationError, in words, for an edit that must not reach libvirt."""
    if target.is_gone:
        raise ValidationError(
            _("%(name)s no longer exists on %(host)s.") % {"name": target.name, "host": target.host.name}
        )
    if not target.definition:
        raise ValidationError(
            _("%(name)s is transient: it has no persistent definition to edit.") % {"name": target.name}
        )
    if params.base != xml_definitions.digest(target.definition):
        raise ValidationError(
            _("The definition of %(name)s changed since it was shown; review the current one and edit again.")
            % {"name": target.name}
        )
    try:
        xml_definitions.check(kind, params.xml, name=target.name, uuid=target.uuid)
    except xml_definitions.BadDefinition as exc:
        raise ValidationError(str(exc)) from None


def declare_define_xml(kind, *, find, refresh):
    """Declare `<kind>.define-xml`. `find(operation) -> (spec, uuid, name)` locates the object for
    the worker; `refresh(operation)` re-reads the inventory afterwards, whatever the outcome."""

    def run(operation, params):
        spec, uuid, name = find(operation)
        try:
            return xml_definitions.redefine(spec, kind, uuid, params.xml, name=name, base=params.base)
        finally:
            with contextlib.suppress(HypervisorError):
                refresh(operation)

    return declare(
        Action(
            f"{kind}.define-xml",
            gettext_lazy("Edit XML"),
            PERMISSION,
            params=NewDefinition,
            check=lambda actor, target, params: refuse_bad(kind, target, params),
            run=run,
            timeout=300,
        )
    )


class DefinitionForm(forms.Form):
    xml = forms.CharField(
        label=gettext_lazy("libvirt XML"),
        strip=False,
        max_length=MAX_XML_CHARS,
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "xml"}),
    )
    base = forms.CharField(required=False, widget=forms.HiddenInput, help_text="The digest of the definition shown.")

    def __init__(self, *args, kind, target, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.target = kind, target

    def clean(self):
        data = super().clean()
        if "xml" in data:
            data["base"] = data.get("base") or xml_definitions.digest(self.target.definition)
            refuse_bad(self.kind, self.target, self.params())
        return data

    def params(self):
        return NewDefinition(xml=xml_definitions.normalize(self.cleaned_data["xml"]), base=self.cleaned_data["base"])


def unified_diff(old, new, name):
    """(css class, line) pairs of a unified diff, for the preview."""
    lines = difflib.unified_diff(
        xml_definitions.normalize(old).splitlines(),
        xml_definitions.normalize(new).splitlines(),
        fromfile=f"{name} (current)",
        tofile=f"{name} (edited)",
        lineterm="",
    )
    classes = {"+": "added", "-": "removed", "@": "hunk"}
    return [(classes.get(line[:1], "same") if not line.startswith(("+++", "---")) else "file", line) for line in lines]


def definition_page(request, *, kind, target, back):
    """GET shows the definition and an editor; POST previews the diff or, confirmed, queues it.
    Only the XML previewed is applied: edited after its preview, it is previewed again."""
    policy.require(request.user, PERMISSION, target)
    initial = {"xml": target.definition, "base": xml_definitions.digest(target.definition)}
    form = DefinitionForm(request.POST or None, kind=kind, target=target, initial=initial)
    context = {
        "kind": kind,
        "kind_word": _(xml_definitions.KIND_WORDS[kind]),
        "target": target,
        "back": back,
        "form": form,
        "diff": None,
    }
    if request.method == "POST":
        if form.is_valid():
            diff = unified_diff(target.definition, form.cleaned_data["xml"], target.name)
            previewed = xml_definitions.digest(form.cleaned_data["xml"])
            context["previewed"] = previewed
            if request.POST.get("step") == "apply" and diff and request.POST.get("previewed") == previewed:
                try:
                    operation = perform(f"{kind}.define-xml", actor=request.user, target=target, params=form.params())
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    flash.queued(request, operation)
                    return redirect("core:operation", pk=operation.pk)
            context["diff"] = diff
        return render(request, "core/definition.html", context, status=200 if form.is_valid() else 400)
    return render(request, "core/definition.html", context)
