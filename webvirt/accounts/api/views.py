from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from webvirt.core import policy
from webvirt.core.actions import perform
from webvirt.core.api.base import ApiView, ReadOnlyViewSet, ViewSet
from webvirt.core.api.forms import params_from, request_schema

from .. import quotas
from ..actions import NewToken, TokenRef, team_deletion_summary, user_deletion_summary
from ..forms import NewUserForm, QuotaForm, TeamForm, UserDeletionForm
from ..models import ApiToken, Quota, Team

TEAM = request_schema(TeamForm, "TeamRequest")


USER_DELETION = request_schema(UserDeletionForm, "UserDeletionRequest")


class UserDeletionSerializer(serializers.Serializer):
    owned = serializers.DictField(child=serializers.IntegerField(), help_text="What goes to the new owner, by kind.")
    api_tokens = serializers.IntegerField(help_text="Revoked.")
    ssh_keys = serializers.IntegerField(help_text="Removed.")
    teams = serializers.IntegerField(help_text="Left.")
    two_factor = serializers.BooleanField(help_text="Devices removed.")


class TeamDeletionSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    grants = serializers.IntegerField(help_text="Grants on guests to the team, removed.")
    publications = serializers.IntegerField(help_text="Hosts, pools, volumes, networks and flavors opened to it.")


class NewPasswordSerializer(serializers.Serializer):
    password = serializers.CharField(help_text="Shown this once.")


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
    """Admins see every account, create accounts, disable or enable them, reset their password and
    set their quota; others see only their own."""

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

    @extend_schema(request=request_schema(NewUserForm, "NewUserRequest"), responses={201: UserDetailSerializer})
    def create(self, request):
        policy.require(request.user, "user.manage")  # before the body is read: no hints for others
        user = perform("user.create", actor=request.user, params=params_from(NewUserForm(request.data)))
        return Response(UserDetailSerializer(user, context={"request": request}).data, status=201)

    def _account_action(self, request, name):
        user = self.get_object()
        result = perform(name, actor=request.user, target=user)
        user.refresh_from_db()
        return user, result

    @extend_schema(request=None, responses={200: UserDetailSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        """The account can no longer sign in or use its tokens; its open consoles close."""
        user, _ = self._account_action(request, "user.disable")
        return Response(UserDetailSerializer(user, context={"request": request}).data)

    @extend_schema(request=None, responses={200: UserDetailSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        user, _ = self._account_action(request, "user.enable")
        return Response(UserDetailSerializer(user, context={"request": request}).data)

    @extend_schema(request=None, responses={200: NewPasswordSerializer})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        """A new random password, in this answer only."""
        _, password = self._account_action(request, "user.reset_password")
        return Response({"password": password})

    @extend_schema(request=request_schema(QuotaForm, "QuotaRequest"), responses={200: QuotaSerializer})
    @action(detail=True, methods=["put"])
    def quota(self, request, pk=None):
        user = self.get_object()
        form = QuotaForm(request.data, instance=Quota.for_user(user))
        perform("quota.change", actor=request.user, target=user, params=params_from(form))
        return Response(quota_of(user))

    @extend_schema(request=USER_DELETION, responses={204: None})
    def destroy(self, request, pk=None):
        """Delete the account; `new_owner` (a user id) takes over its guests first (needed when it owns
        any). GET .../deletion/ says what will happen."""
        policy.require(request.user, "user.manage")  # before the body is read: no hints for others
        user = self.get_object()
        params = params_from(UserDeletionForm(request.data, user=user))
        perform("user.delete", actor=request.user, target=user, params=params)
        return Response(status=204)

    @extend_schema(responses={200: UserDeletionSerializer})
    @action(detail=True, methods=["get"])
    def deletion(self, request, pk=None):
        """What deleting this account would do, in counts."""
        policy.require(request.user, "user.manage")
        return Response(user_deletion_summary(self.get_object()))


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
    """Admins see every team, create and change them; others see the teams they belong to."""

    queryset = Team.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = TeamSerializer
    ordering = ["name"]

    def get_queryset(self):
        teams = Team.objects.prefetch_related("members")
        user = self.request.user
        return teams if user.is_staff else teams.filter(members=user)

    def _save(self, request, team, status):
        policy.require(request.user, "user.manage")  # before the body is read: no hints for others
        params = params_from(TeamForm(request.data, instance=team))
        team = perform("team.save", actor=request.user, target=team, params=params)
        return Response(TeamSerializer(team).data, status=status)

    @extend_schema(request=TEAM, responses={201: TeamSerializer})
    def create(self, request):
        return self._save(request, None, 201)

    @extend_schema(request=TEAM, responses={200: TeamSerializer})
    def update(self, request, pk=None):
        """Name and members (user ids); members who leave lose what the team gave them."""
        return self._save(request, self.get_object(), 200)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Delete the team: its memberships, grants and publications go with it. GET .../deletion/
        says how many."""
        policy.require(request.user, "user.manage")
        perform("team.delete", actor=request.user, target=self.get_object())
        return Response(status=204)

    @extend_schema(responses={200: TeamDeletionSerializer})
    @action(detail=True, methods=["get"])
    def deletion(self, request, pk=None):
        """What deleting this team would remove, in counts."""
        policy.require(request.user, "user.manage")
        return Response(team_deletion_summary(self.get_object()))


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
