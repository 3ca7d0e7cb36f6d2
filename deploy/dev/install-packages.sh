#!/usr/bin/env bash
# Install the Debian packages webvirt needs, only those missing (so a second run costs nothing).
set -euo pipefail
packages=(
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients libvirt-dev pkg-config
  qemu-system-x86 qemu-utils ipxe ovmf dnsmasq-base iptables redis-server openssh-server openssh-client
  sasl2-bin libsasl2-modules
  # LDAP sign-in: python-ldap builds against these; the tests start their own slapd (never the system's).
  libldap2-dev libsasl2-dev slapd ldap-utils
  gcc python3-dev python3-venv chromium
  # Translations: msgfmt compiles the catalogues, xgettext (makemessages) checks they are complete.
  gettext
  # Chinese glyphs for the browser tests and screenshots.
  fonts-noto-cjk
  # Storage beyond directories, for tests/integration/test_shared_storage.py: LVM for logical
  # pools, a userspace NFS server (which the tests start themselves) and NFS clients.
  lvm2 nfs-common nfs-ganesha nfs-ganesha-vfs libnfs-utils
  # Guests on VLANs, for tests/integration/test_vlans.py: Open vSwitch (the tests start its daemons
  # where no init system does) and tcpdump to see the tags on the wire.
  openvswitch-switch tcpdump
  # The scale-out test puts nginx in front of two web servers (tests/integration/test_scale_out.py).
  nginx
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" nfs-ganesha "* ]] && [ -d /run/systemd/system ]; then
    # Its service would hold the NFS port the tests' own server needs.
    systemctl disable --now nfs-ganesha.service >/dev/null 2>&1 || true
  fi
  if [[ " ${missing[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ]; then
    # Its default site would take port 80; the tests start nginx with their own configuration.
    systemctl disable --now nginx.service >/dev/null 2>&1 || true
  fi
  if [[ " ${missing[*]} " == *" slapd "* ]] && [ -d /run/systemd/system ]; then
    # Debian's postinst starts an empty directory on port 389; webvirt's tests run their own.
    systemctl disable --now slapd.service >/dev/null 2>&1 || true
  fi
fi
