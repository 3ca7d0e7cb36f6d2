"""The shipped nginx configuration is valid for the nginx this machine runs (`nginx -t`), with a
self-signed certificate in place of the real one."""

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parent.parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webvirt.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def nginx_test(tmp_path, site):
    self_signed(tmp_path)
    text = site.read_text().replace("/etc/ssl/webvirt/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
        f" include {tmp_path}/site.conf;\n}}\n"
    )
    return subprocess.run(
        [NGINX, "-t", "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("site", ["webvirt.conf", "websockify.conf"])
def test_the_shipped_nginx_configuration_is_valid(tmp_path, site):
    result = nginx_test(tmp_path, REPO / "deploy/nginx" / site)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_a_broken_configuration_is_caught(tmp_path):
    broken = tmp_path / "broken.conf"
    broken.write_text((REPO / "deploy/nginx/webvirt.conf").read_text().replace("proxy_pass", "proxy_pas", 1))
    assert nginx_test(tmp_path, broken).returncode != 0


def test_the_compose_nginx_configuration_is_the_shipped_one_but_its_upstream():
    def body(name):
        lines = (REPO / "deploy/nginx" / name).read_text().splitlines()
        return [line for line in lines if not line.startswith("#") and not line.strip().startswith("server 127.")]

    compose = [line for line in body("compose.conf") if line.strip() != "server web:8000;"]
    assert compose == body("webvirt.conf")
