from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from webvirt.core.actions import perform
from webvirt.core.api.base import ApiView, ReadOnlyViewSet, ViewSet

from .. import quotas
from ..actions import NewToken, TokenRef
from ..models import ApiToken, Quota, Team


class QuotaSerializer(serializers.Serializer):
    limits = serializers.DictField(child=serializers.IntegerField())
    used = serializers.DictField(child=serializers.IntegerField(), help_text="Owned, plus queued work.")


def quota_of(user):
    return {"limits": Quota.for_user(user).limits(), "used": quotas.usage(user)}


class UserSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:user-detail")
    teams = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "url", "username", "is_staff", "is_active", "last_login", "date_joined", "teams"]
        read_only_fields = fields


class UserDetailSerializer(UserSerializer):
    quota = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "quota"]
        read_only_fields = fields

    @extend_schema(responses=QuotaSerializer)
    def get_quota(self, user) -> dict:
        return quota_of(user)


class UserViewSet(ReadOnlyViewSet):
    """Admins see every account; others only their own."""

    queryset = get_user_model().objects.none()  # the model, for the schema; get_queryset() decides

    ordering = ["username"]
    ordering_fields = ["username", "date_joined", "last_login"]
    filterset_fields = ["is_staff", "is_active"]

    def get_queryset(self):
        users = get_user_model().objects.prefetch_related("teams")
        user = self.request.user
        return users if user.is_staff else users.filter(pk=user.pk)

    def get_serializer_class(self):
        return UserDetailSerializer if self.action == "retrieve" else UserSerializer


class MeView(ApiView):
    """Who you are, with your quota and what you use of it."""

    @extend_schema(responses=UserDetailSerializer)
    def get(self, request):
        return Response(UserDetailSerializer(request.user, context={"request": request}).data)


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "members"]
        read_only_fields = fields


class TeamViewSet(ReadOnlyViewSet):
    """Admins see every team; others the teams they belong to."""

    queryset = Team.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = TeamSerializer
    ordering = ["name"]

    def get_queryset(self):
        teams = Team.objects.prefetch_related("members")
        user = self.request.user
        return teams if user.is_staff else teams.filter(members=user)


class TokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "user", "scope", "expires_at", "created_at", "last_used_at"]
        read_only_fields = ["id", "prefix", "user", "created_at", "last_used_at"]
        extra_kwargs = {"expires_at": {"required": False}}


class NewTokenSerializer(TokenSerializer):
    key = serializers.CharField(read_only=True, help_text="The whole token: shown this once, never again.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "key"]


class TokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, ViewSet):
    """Your personal API tokens (admins see everyone's). Creating one shows its key once."""

    queryset = ApiToken.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = TokenSerializer
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        all_tokens = ApiToken.objects.select_related("user")
        user = self.request.user
        return all_tokens if user.is_staff else all_tokens.filter(user=user)

    @extend_schema(request=TokenSerializer, responses={201: NewTokenSerializer})
    def create(self, request):
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        params = NewToken(
            name=data["name"], scope=data.get("scope", ApiToken.Scope.READ), expires_at=data.get("expires_at")
        )
        token, key = perform("token.create", actor=request.user, target=request.user, params=params)
        body = NewTokenSerializer(token).data | {"key": key}
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        perform("token.revoke", actor=self.request.user, target=instance.user, params=TokenRef(instance))
