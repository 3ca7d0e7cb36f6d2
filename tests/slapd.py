"""A throw-away OpenLDAP server (Debian's slapd) for the LDAP sign-in tests: the `slapd` fixture.

Its directory: five people, the groups team-red, team-blue and staff, and webvirt-admins, which
WEBVIRT_LDAP_ADMIN_GROUP names in the tests. Each person's password is "<uid>-pw".
"""

import socket
import subprocess
import time

import ldap
import pytest

SLAPD = "/usr/sbin/slapd"
BASE = "dc=webvirt,dc=test"
ROOT_DN, ROOT_PASSWORD = f"cn=root,{BASE}", "root-secret"
ADMINS = f"cn=webvirt-admins,ou=groups,{BASE}"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def person(uid, password, mail=""):
    return f"""dn: uid={uid},ou=people,{BASE}
objectClass: inetOrgPerson
uid: {uid}
cn: {uid.title()} Test
givenName: {uid.title()}
sn: Test
userPassword: {password}
{f"mail: {mail}" if mail else ""}
"""


def group(cn, *uids):
    members = "".join(f"member: uid={uid},ou=people,{BASE}\n" for uid in uids)
    return f"dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n{members}"


DIRECTORY = "\n".join(
    [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: webvirt\no: webvirt tests\n",
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n",
        person("alice", "alice-pw", "alice@example.test"),
        person("bob", "bob-pw"),
        person("carol", "carol-pw"),
        person("dave", "dave-pw"),
        person("erin", "erin-pw"),
        group("webvirt-admins", "alice"),
        group("team-red", "alice", "bob"),
        group("team-blue", "bob"),
        group("staff", "bob", "carol"),
    ]
)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    """A throw-away slapd on a free port: its own slapd.conf, database and LDIF, loaded offline
    with slapadd; the system's slapd (if any) is never touched. Yields the server's URI."""
    root = tmp_path_factory.mktemp("slapd")
    (root / "db").mkdir()
    config = root / "slapd.conf"
    includes = "".join(f"include /etc/ldap/schema/{name}.schema\n" for name in SCHEMAS)
    config.write_text(
        f"""{includes}modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {root}/slapd.pid
database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {root}/db
access to attrs=userPassword by anonymous auth by self write by * none
access to * by users read by * none
"""
    )
    (root / "directory.ldif").write_text(DIRECTORY)
    subprocess.run(["slapadd", "-q", "-f", config, "-l", root / "directory.ldif"], check=True, capture_output=True)
    uri = f"ldap://127.0.0.1:{free_port()}"
    server = subprocess.Popen([SLAPD, "-f", config, "-h", f"{uri}/", "-d", "0"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                connection = ldap.initialize(uri)
                connection.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
                connection.unbind_s()
                break
            except ldap.SERVER_DOWN:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not start: {server.stderr.read().decode()}") from None
                time.sleep(0.05)
        yield uri
    finally:
        server.terminate()
        server.wait(timeout=10)


def ldap_environment(uri, **extra):
    """The WEBVIRT_LDAP_* variables that point webvirt at this server (docs/identity.md)."""
    return {
        "WEBVIRT_LDAP_SERVER_URI": uri,
        "WEBVIRT_LDAP_BIND_DN": ROOT_DN,
        "WEBVIRT_LDAP_BIND_PASSWORD": ROOT_PASSWORD,
        "WEBVIRT_LDAP_USER_SEARCH_BASE": f"ou=people,{BASE}",
        "WEBVIRT_LDAP_GROUP_SEARCH_BASE": f"ou=groups,{BASE}",
        "WEBVIRT_LDAP_ADMIN_GROUP": ADMINS,
        "WEBVIRT_LDAP_TIMEOUT": "2",
        **extra,
    }
