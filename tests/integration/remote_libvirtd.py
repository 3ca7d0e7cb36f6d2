"""A second, private libvirtd that listens on TCP (SASL) and TLS, for the remote transports.

Debian 12 has no virtproxyd, and the machine's own libvirtd must stay as it is, so this daemon runs
in its own mount namespace: its runtime, state, cache and config directories are bind-mounted from
a temporary folder, so it shares no guests, pools, networks or sockets with the real one. It is a
full privileged libvirtd (qemu:///system), so guests defined through it really run.
"""

import datetime
import fcntl
import ipaddress
import os
import subprocess
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SASL_USER = "webvirt"
# Bind-mounted over these in the daemon's namespace; each gets a folder of the same name.
PRIVATE_DIRS = {
    "run": "/run/libvirt",
    "etc": "/etc/libvirt",
    "state": "/var/lib/libvirt",
    "cache": "/var/cache/libvirt",
}
# Each private daemon takes a block of 100 ports for its guests' displays (the first 50) and
# migrations (the others), away from the real daemon's displays (5900 and up), its migrations
# (49152-49215) and the kernel's ephemeral ports (32768 and up). libvirt checks that a port is free
# before giving it, but QEMU binds it a moment later: two daemons on one range (two test runs on one
# machine) can then hand out the same port, and QEMU refuses to start ("Address already in use").
# A lock file per block keeps each block to one daemon at a time.
PORT_BLOCKS = range(6900, 9900, 100)
PORT_LOCKS = Path(tempfile.gettempdir())


def reserve_port_block():
    """The first block no other private daemon holds, and the open lock file that holds it."""
    for base in PORT_BLOCKS:
        lock = open(PORT_LOCKS / f"webvirt-private-libvirtd-ports-{base}.lock", "w")  # noqa: SIM115  (held)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return base, lock
    raise RuntimeError(f"every block of ports in {PORT_BLOCKS} is held by another private libvirtd")


@dataclass
class Pki:
    ca_cert: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def _pem_key(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_pki(server_names=("localhost",), server_ips=("127.0.0.1",)):
    """A throwaway CA with one server and one client certificate, valid for a day."""
    now = datetime.datetime.now(datetime.UTC)

    def builder(subject, issuer, public_key):
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    def usage(*, cert_sign):
        return x509.KeyUsage(
            digital_signature=not cert_sign,
            content_commitment=False,
            key_encipherment=not cert_sign,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=cert_sign,
            crl_sign=cert_sign,
            encipher_only=False,
            decipher_only=False,
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        builder("webvirt test CA", "webvirt test CA", ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(subject, purpose, alt_names=()):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            builder(subject, "webvirt test CA", key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        )
        if alt_names:
            cert = cert.add_extension(x509.SubjectAlternativeName(list(alt_names)), critical=False)
        return key, cert.sign(ca_key, hashes.SHA256())

    alt_names = [x509.DNSName(name) for name in server_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
    server_key, server_cert = leaf(server_names[0], ExtendedKeyUsageOID.SERVER_AUTH, alt_names)
    client_key, client_cert = leaf("webvirt", ExtendedKeyUsageOID.CLIENT_AUTH)
    return Pki(
        ca_cert=_pem_cert(ca),
        server_cert=_pem_cert(server_cert),
        server_key=_pem_key(server_key),
        client_cert=_pem_cert(client_cert),
        client_key=_pem_key(client_key),
    )


class RemoteLibvirtd:
    """Start with `start()`, stop with `stop()`; `local_uri` reaches it over its own unix socket."""

    def __init__(self, directory, *, tcp_port, tls_port, password):
        self.directory = Path(directory)
        self.tcp_port, self.tls_port, self.password = tcp_port, tls_port, password
        self.pki = make_pki()
        # Its own: without SMBIOS each daemon makes one up, and two equal ones refuse to migrate
        # ("Attempt to migrate guest to the same host").
        self.host_uuid = str(uuid.uuid4())
        self.process = None
        self._ports_lock = None
        self.display_ports = self.migration_ports = None  # (first, last), chosen as it starts
        self.local_uri = f"qemu+unix:///system?socket={self.directory / 'run' / 'libvirt-sock'}"

    def _write_config(self):
        pki_dir = self.directory / "pki"
        for name in (*PRIVATE_DIRS, "pki", "sasl2"):
            (self.directory / name).mkdir(parents=True, exist_ok=True)
            (self.directory / name).chmod(0o755)  # QEMU runs as libvirt-qemu and walks its state folders
        files = {"cacert.pem": self.pki.ca_cert, "servercert.pem": self.pki.server_cert}
        files["serverkey.pem"] = self.pki.server_key
        for name, text in files.items():
            (pki_dir / name).write_text(text)
        (pki_dir / "serverkey.pem").chmod(0o600)
        (self.directory / "etc" / "libvirtd.conf").write_text(
            textwrap.dedent(f"""\
                listen_tls = 1
                listen_tcp = 1
                listen_addr = "127.0.0.1"
                tcp_port = "{self.tcp_port}"
                tls_port = "{self.tls_port}"
                auth_tcp = "sasl"
                auth_tls = "none"
                ca_file = "{pki_dir / "cacert.pem"}"
                cert_file = "{pki_dir / "servercert.pem"}"
                key_file = "{pki_dir / "serverkey.pem"}"
                host_uuid = "{self.host_uuid}"
                """)
        )
        # QEMU's own log goes to a file, so this daemon needs no virtlogd of its own.
        (self.directory / "etc" / "qemu.conf").write_text(
            f'stdio_handler = "file"\nremote_display_port_min = {self.display_ports[0]}\n'
            f"remote_display_port_max = {self.display_ports[1]}\n"
            f"migration_port_min = {self.migration_ports[0]}\nmigration_port_max = {self.migration_ports[1]}\n"
        )
        # DIGEST-MD5 is the SASL mechanism that encrypts plain TCP, which libvirt insists on.
        sasl_db = self.directory / "sasl2" / "passwd.db"
        (self.directory / "sasl2" / "libvirt.conf").write_text(f"mech_list: digest-md5\nsasldb_path: {sasl_db}\n")
        subprocess.run(
            ["saslpasswd2", "-p", "-c", "-a", "libvirt", "-f", sasl_db, SASL_USER],
            input=self.password,
            text=True,
            check=True,
        )

    def start(self, timeout=60):
        base, self._ports_lock = reserve_port_block()
        self.display_ports, self.migration_ports = (base, base + 49), (base + 50, base + 99)
        self._write_config()
        mounts = "; ".join(f"mount --bind {self.directory / name} {target}" for name, target in PRIVATE_DIRS.items())
        script = (
            f"mount --make-rprivate / && {mounts} && exec libvirtd --listen"
            f" -f {self.directory / 'etc' / 'libvirtd.conf'} -p {self.directory / 'libvirtd.pid'}"
        )
        log = open(self.directory / "libvirtd.log", "w")  # noqa: SIM115  (the daemon holds it)
        self.process = subprocess.Popen(
            ["unshare", "--mount", "sh", "-ec", script],
            env={**os.environ, "SASL_CONF_PATH": str(self.directory / "sasl2")},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the private libvirtd exited:\n{self.log()}")
            if self._virsh("version", check=False).returncode == 0:
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the private libvirtd did not answer within {timeout} s:\n{self.log()}")

    def _virsh(self, *args, check=True):
        return subprocess.run(["virsh", "-q", "-c", self.local_uri, *args], capture_output=True, text=True, check=check)

    def domain_state(self, name):
        return self._virsh("domstate", name).stdout.strip()

    def domain_names(self):
        return self._virsh("list", "--all", "--name").stdout.split()

    def log(self):
        return (self.directory / "libvirtd.log").read_text()[-4000:]

    def stop(self):
        """Destroy its guests first: QEMU processes would outlive the daemon."""
        if self.process is None:
            return
        if self.process.poll() is None:
            for name in self._virsh("list", "--name", check=False).stdout.split():
                self._virsh("destroy", name, check=False)
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self._ports_lock.close()  # the block is free for another daemon
