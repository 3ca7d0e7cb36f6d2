import pytest
from rest_framework.test import APIClient

from webvirt.accounts.actions import NewToken
from webvirt.core.actions import perform


@pytest.fixture
def make_token(db):
    """A personal token for `user`: returns (row, key), made through the one token service."""

    def make(user, scope="write", name=None, expires_at=None):
        params = NewToken(name=name or f"t{user.api_tokens.count()}", scope=scope, expires_at=expires_at)
        return perform("token.create", actor=user, target=user, params=params)

    return make


@pytest.fixture
def api():
    """An API client speaking JSON; authenticate it per test with a token header or a session."""

    def client(key=None):
        api_client = APIClient()
        if key:
            api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return api_client

    return client
