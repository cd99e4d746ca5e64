"""The cast every test can use (like healthchecks' Alice, Bob and Charlie):

- `sales` department with its head `head` (role: head of sales), manager `manager` and
  teammate `teammate` (role: manager — own records);
- `other` department with `outsider` (role: manager);
- `admin`, a superuser.
"""

from __future__ import annotations

import pytest

from tests.factories import DepartmentFactory, PipelineFactory, UserFactory


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Tests assert on English messages unless they switch language themselves.
    settings.LANGUAGE_CODE = "en"
    # Factories hash a password per user; PBKDF2 would spend most of the suite's time there.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic in tests: serve static files from the app folders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def sales_dept(db):
    return DepartmentFactory(name="Sales")


@pytest.fixture
def other_dept(db):
    return DepartmentFactory(name="Service")


@pytest.fixture
def manager(sales_dept):
    return UserFactory(
        username="manager", first_name="Anna", last_name="Petrova", department=sales_dept
    )


@pytest.fixture
def teammate(sales_dept):
    return UserFactory(
        username="teammate", first_name="Boris", last_name="Ivanov", department=sales_dept
    )


@pytest.fixture
def head(sales_dept):
    user = UserFactory(
        username="head",
        first_name="Vera",
        last_name="Smirnova",
        department=sales_dept,
        roles=["head_of_sales"],
    )
    sales_dept.head = user
    sales_dept.save()
    return user


@pytest.fixture
def outsider(other_dept):
    return UserFactory(
        username="outsider", first_name="Gleb", last_name="Orlov", department=other_dept
    )


@pytest.fixture
def admin(db):
    return UserFactory(
        username="admin", is_staff=True, is_superuser=True, roles=["administrator"], department=None
    )


@pytest.fixture
def pipeline(db):
    return PipelineFactory(name="Sales")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def api_client(manager):
    from rest_framework.test import APIClient

    c = APIClient()
    c.force_authenticate(manager)
    return c
