"""The OpenAPI 3 schema and the interactive docs page (served without any CDN)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_serves_a_valid_openapi_schema_covering_every_entity(manager_client):
    response = manager_client.get(
        reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in [
        "contacts",
        "companies",
        "leads",
        "deals",
        "orders",
        "products",
        "pipelines",
        "activities",
        "followups",
        "users",
        "departments",
        "tags",
        "custom-fields",
    ]:
        assert f"/api/v1/{path}/" in paths, path
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(manager_client):
    response = manager_client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html


def test_the_api_refuses_anonymous_requests(client):
    assert client.get("/api/v1/contacts/").status_code in (401, 403)


def test_the_api_accepts_a_token(manager):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=manager).key}")
    assert api.get("/api/v1/contacts/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert api.get("/api/v1/contacts/").status_code == 401


def test_a_user_creates_replaces_and_revokes_a_personal_token(manager_client, manager):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    url = reverse("accounts:api_token")
    assert manager_client.get(url).status_code == 405
    manager_client.post(url, {"action": "create"})
    first = Token.objects.get(user=manager).key
    manager_client.post(url, {"action": "create"})
    second = Token.objects.get(user=manager).key
    assert first != second
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert api.get("/api/v1/me/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert api.get("/api/v1/me/").status_code == 200
    manager_client.post(url, {"action": "revoke"})
    assert not Token.objects.filter(user=manager).exists()
    assert api.get("/api/v1/me/").status_code == 401


def test_the_token_page_needs_a_login(client):
    response = client.post(reverse("accounts:api_token"), {"action": "create"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
