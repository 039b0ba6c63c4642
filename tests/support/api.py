"""API keys and clients for the REST API's tests."""

import json

import pytest
from django.test import Client

from api import keys


def make_key(tenant, scopes=("read", "send", "manage"), name="Integration", **fields):
    """(The key's row, the key itself) for `tenant`."""
    return keys.create_key(tenant, name=name, scopes=list(scopes), **fields)


class ApiClient:
    """Django's test client speaking JSON with `Authorization: Bearer <key>`."""

    def __init__(self, raw_key, client=None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {raw_key}"} if raw_key else {}

    def get(self, path, **params):
        return self.client.get(path, params, headers=self.headers)

    def post(self, path, body=None, *, raw=None, content_type="application/json", headers=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data, content_type=content_type, headers={**self.headers, **(headers or {})})

    def upload(self, path, files, headers=None):
        return self.client.post(path, files, headers={**self.headers, **(headers or {})})

    def patch(self, path, body):
        return self.client.patch(path, json.dumps(body), content_type="application/json", headers=self.headers)

    def delete(self, path):
        return self.client.delete(path, headers=self.headers)

    def request(self, method, path, raw, content_type="application/json"):
        return self.client.generic(method, path, raw, content_type=content_type, headers=self.headers)


def is_problem(response, status, kind=None):
    """The response is an RFC 9457 problem document with this status (and type)."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status and body["title"] and "detail" in body
    if kind:
        assert body["type"] == f"/api/v1/problems/{kind}", body
    return body


@pytest.fixture
def api_stack(request, live_stack, transactional_db, acme):
    """The shared live stack serving acme's number; no status webhook is left in flight when
    the test's data is flushed."""
    from tests.support.browsing import serving_acme

    with serving_acme(request, live_stack):
        yield live_stack
