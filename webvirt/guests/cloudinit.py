"""NoCloud seed images for cloud-init: an ISO 9660 volume labelled "cidata" with user-data and
meta-data, built in Python (pycdlib), so no genisoimage is needed on any host."""

import io
import uuid

import pycdlib
import yaml
from django.utils.translation import gettext as _


class UserDataError(ValueError):
    pass


def parse_user_data(text):
    """The user's own cloud-config as a dict; empty text is an empty config."""
    if not text.strip():
        return {}
    if not text.lstrip().startswith("#cloud-config"):
        raise UserDataError(_("User data must be a cloud-config document starting with #cloud-config."))
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserDataError(_("User data is not valid YAML: %(error)s") % {"error": exc}) from None
    if config is not None and not isinstance(config, dict):
        raise UserDataError(_("User data must be a cloud-config mapping (key: value lines)."))
    return config or {}


def build_user_data(*, hostname, ssh_keys, user_data=""):
    """cloud-config text: the user's own settings, plus the host name and their SSH keys."""
    config = parse_user_data(user_data)
    config["hostname"] = hostname
    keys = [key.strip() for key in ssh_keys if key.strip()]
    if keys:
        config["ssh_authorized_keys"] = [*config.get("ssh_authorized_keys", []), *keys]
    return "#cloud-config\n" + yaml.safe_dump(config, sort_keys=False)


def build_seed_iso(*, hostname, ssh_keys, user_data=""):
    files = {
        "user-data": build_user_data(hostname=hostname, ssh_keys=ssh_keys, user_data=user_data).encode(),
        "meta-data": yaml.safe_dump({"instance-id": str(uuid.uuid4()), "local-hostname": hostname}).encode(),
    }
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident="cidata")
    for index, (name, data) in enumerate(files.items()):
        iso.add_fp(io.BytesIO(data), len(data), f"/FILE{index};1", rr_name=name, joliet_path=f"/{name}")
    output = io.BytesIO()
    iso.write_fp(output)
    iso.close()
    return output.getvalue()
