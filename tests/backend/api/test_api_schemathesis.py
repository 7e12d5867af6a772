"""Schemathesis over the OpenAPI spec: generated requests to every operation, as an engineer, never a 5xx.

Bounded: a few examples per operation (generation phase only, no shrinking database), on SQLite and
PostgreSQL. The workspace and incidents from the fixtures exist, so small ids reach real rows.
"""

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase

MAX_EXAMPLES = 6
LAST = ("DELETE", "/api/tokens/{token_id}")  # may revoke the engineer's own token: run it last


@pytest.mark.slow
def test_no_server_errors_anywhere(app, auth, incident_ids, client):
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.method.upper(), op.path) == LAST)
    headers = auth("engineer")
    failures = []
    for operation in operations:

        @hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                             phases=[Phase.explicit, Phase.generate],
                             suppress_health_check=list(HealthCheck))
        @hypothesis.given(case=operation.as_strategy())
        def check(case):
            try:
                response = case.call(headers=headers)
            except Exception as err:  # raised through the test client: a 500 for a real client
                failures.append(f"{case.method} {case.formatted_path} raised {err!r} "
                                f"(query={case.query}, body={str(case.body)[:200]})")
                return
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{response.text[:300]} (query={case.query}, body={str(case.body)[:200]})")

        check()
    assert len(operations) >= 35
    assert not failures, "\n".join(failures[:10])
