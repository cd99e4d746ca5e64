from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A node of the company structure (a tree)."""

    name = models.CharField(_("name"), max_length=128)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    head = models.ForeignKey(
        "accounts.User",
        verbose_name=_("head"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    require_2fa = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("Its people must set up a one-time code app before they can work."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name

    def subtree_ids(self) -> list[int]:
        """This department and every department below it."""
        ids = [self.pk]
        frontier = [self.pk]
        while frontier:
            frontier = list(
                Department.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
            )
            ids.extend(frontier)
        return ids


class Scope(models.TextChoices):
    """How far a grant reaches, from nothing to everything (ordered)."""

    NONE = "none", _("None")
    OWN = "own", _("Own records")
    DEPARTMENT = "department", _("Own department")
    SUBTREE = "subtree", _("Department and sub-departments")
    ALL = "all", _("All records")


SCOPE_ORDER = [Scope.NONE, Scope.OWN, Scope.DEPARTMENT, Scope.SUBTREE, Scope.ALL]


class Entity(models.TextChoices):
    """What a role grants access to."""

    COMPANIES = "companies", _("Companies")
    CONTACTS = "contacts", _("Contacts")
    LEADS = "leads", _("Leads")
    DEALS = "deals", _("Deals")
    ACTIVITIES = "activities", _("Activities")
    TASKS = "tasks", _("Tasks")
    ORDERS = "orders", _("Orders")
    PRODUCTS = "products", _("Products")
    REPORTS = "reports", _("Reports")
    SETTINGS = "settings", _("Settings")


class Action(models.TextChoices):
    VIEW = "view", _("View")
    CREATE = "create", _("Create")
    EDIT = "edit", _("Edit")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    IMPORT = "import", _("Import")


class FieldMode(models.TextChoices):
    HIDDEN = "hidden", _("Hidden")
    READONLY = "readonly", _("Read-only")


class Role(models.Model):
    """A set of grants: per entity and action, a scope; plus field rules.

    `grants` = {"deals": {"view": "department", "edit": "own", ...}, ...}; a missing entry
    is "none". `field_rules` = {"deals": {"amount": "hidden"}, "companies": {"cf_potential":
    "readonly"}}. A user may hold several roles; their grants add up (the widest scope
    wins, and a field is hidden or read-only only if every role of the user says so).
    """

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=128)
    description = models.TextField(_("description"), blank=True)
    grants = models.JSONField(_("grants"), default=dict, blank=True)
    field_rules = models.JSONField(_("field rules"), default=dict, blank=True)
    require_2fa = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("People with this role must set up a one-time code app before they can work."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from svyaz.accounts.roles import field_rule_choices

        errors: dict[str, list[str]] = {}
        grants = self.grants if isinstance(self.grants, dict) else None
        if grants is None:
            errors.setdefault("grants", []).append(_("Grants must be a mapping."))
        else:
            for entity, actions in grants.items():
                if entity not in Entity.values or not isinstance(actions, dict):
                    errors.setdefault("grants", []).append(
                        _("Unknown entity: %(entity)s.") % {"entity": entity}
                    )
                    continue
                for action, scope in actions.items():
                    if action not in Action.values or scope not in Scope.values:
                        errors.setdefault("grants", []).append(
                            _("Bad grant %(entity)s.%(action)s = %(scope)s.")
                            % {"entity": entity, "action": action, "scope": scope}
                        )
        rules = self.field_rules if isinstance(self.field_rules, dict) else None
        if rules is None:
            errors.setdefault("field_rules", []).append(_("Field rules must be a mapping."))
        else:
            for entity, fields in rules.items():
                allowed = field_rule_choices(entity)
                if not isinstance(fields, dict) or allowed is None:
                    errors.setdefault("field_rules", []).append(
                        _("Unknown entity: %(entity)s.") % {"entity": entity}
                    )
                    continue
                for name, mode in fields.items():
                    if name not in allowed or mode not in FieldMode.values:
                        errors.setdefault("field_rules", []).append(
                            _("Bad field rule %(entity)s.%(field)s = %(mode)s.")
                            % {"entity": entity, "field": name, "mode": mode}
                        )
        if errors:
            raise ValidationError(errors)


class User(AbstractUser):
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    roles = models.ManyToManyField(Role, verbose_name=_("roles"), blank=True, related_name="users")
    language = models.CharField(
        _("language"), max_length=8, blank=True, help_text=_("Empty: taken from the browser.")
    )
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def must_use_2fa(self) -> bool:
        """Two-factor authentication is required of this user (department rule or staff)."""
        from django.conf import settings

        if self.is_staff and settings.SVYAZ_REQUIRE_2FA_FOR_STAFF:
            return True
        if self.department_id and self.department.require_2fa:
            return True
        return self.roles.filter(require_2fa=True).exists()
