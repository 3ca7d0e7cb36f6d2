from oauth2_provider.oauth2_validators import OAuth2Validator

from .groups import groups_of


class GroupsValidator(OAuth2Validator):
    """Adds the claims webvirt reads: a user name, an email and the user's groups (read from the
    groups file at every sign-in, so a test changes someone's groups by rewriting it)."""

    oidc_claim_scope = None  # every claim below, whatever scopes were asked for

    def get_additional_claims(self, request):
        user = request.user
        return {"preferred_username": user.username, "email": user.email, "groups": groups_of(user.username)}
