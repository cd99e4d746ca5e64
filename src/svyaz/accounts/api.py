"""REST API for the signed-in user, the user directory, departments and roles.

Users are a read-only directory (id, name, department); departments are readable by
everyone signed in and writable with the settings/edit grant (the Administrator role)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.urls import path
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import filters, routers, serializers, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from svyaz.accounts.models import Department, Role
from svyaz.core.access import SettingsPermission, SettingsWriteOrReadOnly


class MeOutput(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    roles = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    department_name = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = [
            "id",
            "username",
            "name",
            "first_name",
            "last_name",
            "email",
            "phone",
            "department",
            "department_name",
            "roles",
            "language",
            "timezone",
            "is_staff",
        ]

    def get_name(self, obj) -> str:
        return str(obj)

    def get_department_name(self, obj) -> str:
        return obj.department.name if obj.department_id else ""


class UserOutput(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    department_name = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "name", "department", "department_name"]

    def get_name(self, obj) -> str:
        return str(obj)

    def get_department_name(self, obj) -> str:
        return obj.department.name if obj.department_id else ""


@extend_schema(responses=MeOutput)
@api_view(["GET"])
def me(request):
    user = get_user_model().objects.select_related("department").get(pk=request.user.pk)
    return Response(MeOutput(user).data)


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Active users: for assignee and owner pickers."""

    serializer_class = UserOutput
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter, filters.SearchFilter]
    filterset_fields = ["department"]
    search_fields = ["first_name", "last_name", "username"]
    ordering_fields = ["last_name", "first_name", "username", "id"]
    ordering = ["last_name", "first_name", "id"]

    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True).select_related("department")


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "parent", "head", "require_2fa"]

    def validate_name(self, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise serializers.ValidationError(_("Enter a name."))
        return value

    def validate_parent(self, parent):
        if (
            parent is not None
            and self.instance is not None
            and parent.pk in self.instance.subtree_ids()
        ):
            raise serializers.ValidationError(_("A department cannot be inside itself."))
        return parent


class DepartmentViewSet(viewsets.ModelViewSet):
    serializer_class = DepartmentSerializer
    permission_classes = [SettingsWriteOrReadOnly]  # the structure is settings
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter, filters.SearchFilter]
    filterset_fields = ["parent"]
    search_fields = ["name"]
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]
    queryset = Department.objects.all()

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as exc:
            raise ValidationError(
                {
                    "non_field_errors": [
                        _("The department still has users, records or sub-departments.")
                    ]
                }
            ) from exc


class RoleSerializer(serializers.ModelSerializer):
    """A role: `grants` {entity: {action: scope}}, `field_rules` {entity: {field: mode}}."""

    class Meta:
        model = Role
        fields = ["id", "code", "name", "description", "grants", "field_rules", "require_2fa"]

    def validate(self, attrs):
        role = Role(**{**self._current(), **attrs})
        try:
            role.clean()
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {f: getattr(self.instance, f) for f in ("grants", "field_rules")}


class RoleViewSet(viewsets.ModelViewSet):
    """Roles and their grants: settings."""

    serializer_class = RoleSerializer
    permission_classes = [SettingsPermission]
    filter_backends = [filters.OrderingFilter, filters.SearchFilter]
    search_fields = ["name", "code"]
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]
    queryset = Role.objects.all()

    def perform_destroy(self, instance):
        if instance.users.exists():
            raise ValidationError(
                {"non_field_errors": [_("People hold this role: take it from them first.")]}
            )
        instance.delete()


class UserAccessSerializer(serializers.ModelSerializer):
    """What settings may change of a person: department, roles (codes), active."""

    roles = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Role.objects.all(), required=False
    )

    class Meta:
        model = get_user_model()
        fields = ["id", "department", "roles", "is_active"]

    def validate_is_active(self, value):
        request = self.context.get("request")
        if not value and request is not None and self.instance == request.user:
            raise ValidationError(_("You cannot deactivate yourself."))
        return value


@extend_schema(request=UserAccessSerializer, responses=UserAccessSerializer)
@api_view(["GET", "PATCH"])
@permission_classes([SettingsPermission])
def user_access(request, pk: int):
    person = get_user_model().objects.filter(pk=pk).first()
    if person is None:
        raise NotFound()
    if request.method == "GET":
        return Response(UserAccessSerializer(person).data)
    serializer = UserAccessSerializer(
        person, data=request.data, partial=True, context={"request": request}
    )
    serializer.is_valid(raise_exception=True)
    serializer.save()
    return Response(serializer.data)


router = routers.SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("departments", DepartmentViewSet, basename="department")
router.register("roles", RoleViewSet, basename="role")

urlpatterns = [
    path("me/", me, name="me"),
    path("users/<int:pk>/access/", user_access, name="user-access"),
    *router.urls,
]
