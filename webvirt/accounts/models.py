from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LeaseTerms(models.Model):
    """How long guests placed here (a host) or owned here (a team) may live: a lease given at
    creation, renewable by the owner up to the maximum; what happens once it ends. Empty: no lease."""

    class AtExpiry(models.TextChoices):
        KEEP = "keep", _("shut down and keep it stopped")
        DELETE = "delete", _("shut down, then delete it with its volumes after the grace period")

    lease_default_days = models.PositiveSmallIntegerField(
        _("default lease (days)"), null=True, blank=True, help_text=_("Given to new guests. Empty: none.")
    )
    lease_max_days = models.PositiveSmallIntegerField(
        _("longest lease (days)"),
        null=True,
        blank=True,
        help_text=_("How far ahead an owner may set or renew a lease. Empty: no lease is required."),
    )
    lease_expiry = models.CharField(
        _("when a lease ends"), max_length=8, choices=AtExpiry.choices, default=AtExpiry.KEEP
    )

    class Meta:
        abstract = True


class Team(LeaseTerms):
    name = models.CharField(max_length=64, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


def _default(name):
    return settings.WEBVIRT_DEFAULT_QUOTA[name]


class Quota(models.Model):
    """What a user may own at most; a guest counts against its owner."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota")
    max_guests = models.PositiveIntegerField(default=0)
    max_vcpus = models.PositiveIntegerField(_("max vCPUs"), default=0)
    max_memory_mib = models.PositiveIntegerField(_("max memory (MiB)"), default=0)
    max_disk_gib = models.PositiveIntegerField(_("max disk (GiB)"), default=0)

    LIMITS = ("guests", "vcpus", "memory_mib", "disk_gib")

    def __str__(self):
        return f"quota of {self.user}"

    @classmethod
    def for_user(cls, user, *, lock=False):
        """The user's quota row, created with the defaults from settings; locked for the
        transaction when `lock` (so concurrent requests check one after the other)."""
        defaults = {f"max_{name}": _default(name) for name in cls.LIMITS}
        quota, _ = cls.objects.get_or_create(user=user, defaults=defaults)
        return cls.objects.select_for_update().get(pk=quota.pk) if lock else quota

    def limits(self):
        return {name: getattr(self, f"max_{name}") for name in self.LIMITS}


class Profile(models.Model):
    """What webvirt keeps about a user beyond Django's User: their language, and where they sign in."""

    class Directory(models.TextChoices):
        LOCAL = "", _("Local account")
        OIDC = "oidc", _("Single sign-on (OpenID Connect)")
        LDAP = "ldap", "LDAP"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    language = models.CharField(max_length=16, blank=True, help_text=_("Empty: follow the browser."))
    directory = models.CharField(max_length=8, choices=Directory.choices, default=Directory.LOCAL, blank=True)
    # Who the directory says this is, for single sign-on: "<issuer> <sub>", fixed for life at the
    # provider, unlike the user name it may rename (accounts/oidc.py finds accounts by it).
    directory_subject = models.CharField(max_length=512, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["directory_subject"], condition=~models.Q(directory_subject=""), name="directory_subject_once"
            )
        ]

    def __str__(self):
        return f"profile of {self.user}"

    @classmethod
    def for_user(cls, user):
        return cls.objects.get_or_create(user=user)[0]


class SSHKey(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ssh_keys")
    name = models.CharField(max_length=64)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "fingerprint"], name="ssh_key_once_per_user")]

    def __str__(self):
        return f"{self.name} ({self.fingerprint})"


class Publishable(models.Model):
    """Something admins open to users for self-service: to everyone, to some teams, or to some users."""

    public = models.BooleanField(_("open to everyone"), default=False)
    teams = models.ManyToManyField(Team, blank=True, related_name="published_%(app_label)s_%(class)s")
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="published_%(app_label)s_%(class)s"
    )

    class Meta:
        abstract = True


# What admins may open for self-service: kind -> (model, the policy action that manages it).
PUBLISHABLE = {
    "host": ("hosts.Host", "host.manage"),
    "pool": ("storage.Pool", "storage.manage"),
    "volume": ("storage.Volume", "storage.manage"),
    "network": ("networks.Network", "network.manage"),
    "flavor": ("guests.Flavor", "flavor.manage"),
}


class LoginThrottle(models.Model):
    """Failed sign-ins in a row for one account name, from any address (see accounts/throttle.py)."""

    username = models.CharField(max_length=150, unique=True, help_text="As typed, case-folded.")
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(help_text="No password is checked for this name before then.")

    def __str__(self):
        return f"{self.username}: {self.failures} failed sign-ins"


class ApiToken(models.Model):
    """A personal API token. Only a hash of its secret is kept: it is shown once, when created."""

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=16, unique=True, help_text="The token's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole token.")
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="api_token_name_once_per_user")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def writes(self):
        return self.scope == self.Scope.WRITE
