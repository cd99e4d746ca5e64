"""factory_boy factories for the domain. Use these, not JSON fixtures."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from svyaz.accounts.models import Department, User
from svyaz.accounts.roles import ensure_default_roles
from svyaz.contacts.models import Company, Contact
from svyaz.sales.models import Pipeline, Product, Stage, StageKind


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"Department {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    department = factory.SubFactory(DepartmentFactory)
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):  # noqa: N805
        """`roles=["head_of_sales"]` (codes of the shipped roles or Role objects);
        default: the manager role (own records). `roles=[]` gives none."""
        if not create:
            return
        codes = ["manager"] if extracted is None else extracted
        shipped = ensure_default_roles() if codes else {}
        obj.roles.set([shipped[c] if isinstance(c, str) else c for c in codes])


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Faker("company", locale="ru_RU")
    owner = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda c: c.owner.department if c.owner else None)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name", locale="ru_RU")
    last_name = factory.Faker("last_name", locale="ru_RU")
    full_name = factory.LazyAttribute(lambda c: f"{c.last_name} {c.first_name}")
    owner = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda c: c.owner.department if c.owner else None)


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Pipeline {n}")
    is_default = True

    @factory.post_generation
    def stages(obj, create, extracted, **kwargs):  # noqa: N805
        if not create:
            return
        spec = extracted or [
            ("New", StageKind.OPEN, 10),
            ("Negotiation", StageKind.OPEN, 50),
            ("Won", StageKind.WON, 100),
            ("Lost", StageKind.LOST, 0),
        ]
        for pos, (name, kind, prob) in enumerate(spec):
            Stage.objects.create(pipeline=obj, name=name, kind=kind, probability=prob, position=pos)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("1000.00")
    currency = "RUB"


def now():
    return timezone.now()
