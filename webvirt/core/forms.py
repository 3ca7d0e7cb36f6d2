from django import forms


class NewOnHostForm(forms.Form):
    """A form for something new on one host (a pool, a network) whose name must be free there."""

    host_relation = ""  # the host's related manager, e.g. "pools"
    noun = ""

    def __init__(self, *args, host, **kwargs):
        super().__init__(*args, **kwargs)
        self.host = host

    def clean_name(self):
        name = self.cleaned_data["name"]
        if getattr(self.host, self.host_relation).filter(name=name).exists():
            raise forms.ValidationError(f"{self.host.name} already has a {self.noun} named {name}.")
        return name
