"""Users who sign in through a directory (OpenID Connect or LDAP).

Both sign-in paths end here: the user is created on first sign-in by the directory's backend, then
`mirror()` makes webvirt's record match the directory (teams by name, admin flag, email) through
the catalogue's action, so the change is audited and open consoles ask the policy again.
"""

from webvirt.core.actions import perform

from .actions import DirectoryFacts


def mirror(user, *, directory, teams=(), admin=False, email=""):
    facts = DirectoryFacts(directory=directory, teams=tuple(sorted(set(teams))), admin=admin, email=email)
    return perform("user.directory_sync", actor=user, target=user, params=facts)
