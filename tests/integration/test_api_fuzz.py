"""Schema-driven fuzzing of the REST API on a running server (uvicorn, as deployed), with an
admin's token and an ordinary user's: no server error, no response that breaks the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from tests.conftest import UserFactory
from webvirt.accounts.actions import NewToken
from webvirt.core.actions import perform
from webvirt.guests.models import Grant, Guest

pytestmark = pytest.mark.e2e

# Every operation is tried with this many derandomized cases: bounded, so `make test` stays quick.
EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def fuzz(schema, key):
    """Every operation of the schema with generated (valid and invalid) input, as the token's user."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "DELETE" and operation.path.startswith("/api/v1/tokens/"):
            continue  # a guessed id could be this run's own token; revocation has its own tests

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            continue
        except Exception as exc:  # collected, so every operation is tried
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures


def test_the_api_answers_every_generated_request_within_its_schema(start_app, make_test_host):
    host = make_test_host(guests=[{"name": f"g{n}"} for n in range(5)])
    admin = UserFactory(username="fuzz-admin", is_staff=True)
    user = UserFactory(username="fuzz-user")
    Grant.objects.create(guest=Guest.objects.filter(host=host).first(), user=user, role="operator")
    _, admin_key = perform("token.create", actor=admin, target=admin, params=NewToken("fuzz", "write"))
    _, user_key = perform("token.create", actor=user, target=user, params=NewToken("fuzz", "write"))
    base_url = start_app(WEBVIRT_API_RATE="100000/min")
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/")
    operations = list(schema.get_all_operations())
    assert len(operations) >= 20, "the schema lists the API's operations"
    failures = fuzz(schema, admin_key) + fuzz(schema, user_key)
    assert not failures, "\n\n".join(failures)
