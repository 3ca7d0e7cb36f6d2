"""Set up the provider's database: its tables, the users given in PROVIDER_USERS (JSON: a list of
names, all with PASSWORD) and one confidential application for webvirt that skips the consent page."""

import json
import os

import django

CLIENT_ID = "webvirt-tests"
CLIENT_SECRET = "webvirt-tests-secret"
PASSWORD = "provider-Passw0rd"


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for name in json.loads(os.environ["PROVIDER_USERS"]):
        get_user_model().objects.create_user(name, email=f"{name}@example.test", password=PASSWORD)
    Application.objects.create(
        name="webvirt",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["PROVIDER_REDIRECT_URI"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )


if __name__ == "__main__":
    main()
