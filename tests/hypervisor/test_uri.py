import pytest

from webvirt.hypervisor import HypervisorError, build_uri


@pytest.mark.parametrize(
    ("transport", "fields", "expected"),
    [
        ("local", {}, "qemu:///system"),
        ("test", {}, "test:///default"),
        ("test", {"test_path": "/srv/hosts/h1.xml"}, "test:///srv/hosts/h1.xml"),
        ("ssh", {"hostname": "kvm1.example.org", "username": "virt"}, "qemu+libssh://virt@kvm1.example.org/system"),
        ("tcp", {"hostname": "10.0.0.5", "port": 16509}, "qemu+tcp://10.0.0.5:16509/system"),
        ("tls", {"hostname": "kvm2"}, "qemu+tls://kvm2/system"),
    ],
)
def test_builds_uri_from_fields(transport, fields, expected):
    assert build_uri(transport, **fields) == expected


def test_webvirt_parameters_are_encoded():
    uri = build_uri("ssh", hostname="kvm1", username="root", params={"keyfile": "/tmp/a b", "no_verify": "1"})
    assert uri == "qemu+libssh://root@kvm1/system?keyfile=%2Ftmp%2Fa+b&no_verify=1"


@pytest.mark.parametrize(
    ("transport", "fields", "message"),
    [
        ("xen", {"hostname": "a"}, "Unknown connection type"),
        ("qemu+ssh", {"hostname": "a"}, "Unknown connection type"),
        ("ssh", {}, "host name is required"),
        ("ssh", {"hostname": "kvm1/system?keyfile=/etc/shadow"}, "not a valid host name"),
        ("ssh", {"hostname": "kvm1?x=1"}, "not a valid host name"),
        ("ssh", {"hostname": "-oProxyCommand=sh"}, "not a valid host name"),
        ("ssh", {"hostname": "300.1.1.1"}, "not a valid IPv4"),
        ("ssh", {"hostname": "kvm1", "username": "root@evil"}, "User names"),
        ("tcp", {"hostname": "kvm1", "port": 70000}, "port must be"),
        ("test", {"test_path": "relative.xml"}, "absolute path"),
        ("test", {"test_path": "/srv/../etc/x.xml"}, "absolute path"),
        ("test", {"test_path": "/etc/passwd"}, "absolute path"),
    ],
)
def test_refuses_bad_fields(transport, fields, message):
    with pytest.raises(HypervisorError, match=message):
        build_uri(transport, **fields)
