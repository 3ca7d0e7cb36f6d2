"""Build the tiny Linux guest that integration tests boot: Debian's cloud kernel plus an initramfs
with busybox, acpid's power-button handler and qemu-guest-agent with its libraries.

Everything comes from Debian packages fetched with `apt-get download` and unpacked with
`dpkg-deb -x`: nothing is installed on the host. The kernel and initramfs are cached under
data/tiny-linux/<key>/, the key hashing this builder, the guest's files and the package versions
apt offers, so a second run with the same inputs does nothing but ask apt for those versions.

Run `python tests/integration/tiny_linux/build.py` (as root, on Debian 12) to build or find it;
the tests call `build()`.
"""

import gzip
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CACHE = REPO / "data" / "tiny-linux"

# A metapackage: its Depends names the current kernel package. The cloud kernel boots faster
# under TCG than the standard one and has every driver this guest needs as a module.
KERNEL_METAPACKAGE = "linux-image-cloud-amd64"
# qemu-ga's libraries: the build fails, naming the library, if one of them is missing here.
PACKAGES = (
    "busybox-static",
    "qemu-guest-agent",
    "libc6",
    "libglib2.0-0",
    "libpcre2-8-0",
    "libnuma1",
    "libudev1",
    "liburing2",
)
# Loaded by init with modprobe; their dependencies come along.
MODULES = ("virtio_pci", "virtio_net", "virtio_blk", "virtio_console", "button", "evdev")
# This folder's guest files and where they go in the initramfs (all executable).
GUEST_FILES = {
    "init": "init",
    "shutdown": "sbin/shutdown",
    "power-button": "etc/acpi/PWRF/00000080",
    "udhcpc.script": "etc/udhcpc.script",
}
READY_MARKER = "TINY-LINUX-READY"  # printed by init once the lease, acpid and the agent are up
KERNEL_CMDLINE = "console=ttyS0"


@dataclass(frozen=True)
class TinyLinux:
    kernel: Path
    initrd: Path


def _run(*command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs).stdout


def _candidates(packages):
    """{package: (version, Depends)} of what `apt-get download` would fetch now."""
    try:
        text = _run("apt-cache", "show", "--no-all-versions", *packages)
    except subprocess.CalledProcessError:  # a machine whose package lists were never fetched
        _run("apt-get", "update", "-qq")
        text = _run("apt-cache", "show", "--no-all-versions", *packages)
    found = {}
    for record in text.strip().split("\n\n"):
        fields = dict(re.findall(r"^(Package|Version|Depends): (.*)$", record, re.MULTILINE))
        found[fields["Package"]] = (fields["Version"], fields.get("Depends", ""))
    return found


def resolve_packages():
    """(kernel release, {package: version}) for the kernel and every package the guest needs."""
    meta = _candidates([KERNEL_METAPACKAGE])[KERNEL_METAPACKAGE]
    kernel_package = re.match(r"(linux-image-\S+)", meta[1]).group(1)
    versions = {name: version for name, (version, _) in _candidates([kernel_package, *PACKAGES]).items()}
    return kernel_package.removeprefix("linux-image-"), versions


def cache_key(versions):
    digest = hashlib.sha256()
    for name in ("build.py", *GUEST_FILES):
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes())
    for name, version in sorted(versions.items()):
        digest.update(f"{name}={version}\n".encode())
    return digest.hexdigest()[:16]


def _fetch_and_unpack(versions, stage):
    downloads = stage.parent / "debs"
    downloads.mkdir()
    pinned = [f"{name}={version}" for name, version in versions.items()]
    _run("apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", *pinned, cwd=downloads)
    for deb in sorted(downloads.glob("*.deb")):
        _run("dpkg-deb", "-x", str(deb), str(stage))


def _copy(stage, root, guest_path):
    """Copy `guest_path` from the unpacked packages into the initramfs, following symlinks
    inside the packages (an absolute link names a path in the guest, not on this host)."""
    source = stage / guest_path.lstrip("/")
    while source.is_symlink():
        link = os.readlink(source)
        source = stage / link.lstrip("/") if link.startswith("/") else source.parent / link
    target = root / guest_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _libraries(stage, binary):
    """Guest paths of the libraries `binary` loads, found among the unpacked packages only."""
    library_dirs = [stage / "lib/x86_64-linux-gnu", stage / "usr/lib/x86_64-linux-gnu"]
    env = {"PATH": os.environ["PATH"], "LD_LIBRARY_PATH": ":".join(map(str, library_dirs))}
    paths = []
    for line in _run("ldd", str(stage / binary.lstrip("/")), env=env).splitlines():
        if "linux-vdso" in line:
            continue
        match = re.search(r"=> (\S+)", line) or re.match(r"\s*(/\S+)", line)  # the loader has no "=>"
        if match is None or match.group(1) == "not":
            raise RuntimeError(f"{binary} needs {line.split()[0]}, which none of the packages provides.")
        path = Path(match.group(1))
        paths.append(f"/{path.relative_to(stage)}" if path.is_relative_to(stage) else str(path))
    return paths


def _modules(stage, root, release):
    """Copy MODULES and what they depend on, then index them for the guest's modprobe."""
    busybox = str(stage / "bin/busybox")
    _run(busybox, "depmod", "-b", str(stage), release)
    base = f"lib/modules/{release}"
    dependencies = {}
    for line in (stage / base / "modules.dep").read_text().splitlines():
        module, _, needs = line.partition(":")
        dependencies[Path(module).name.removesuffix(".ko").replace("-", "_")] = [module, *needs.split()]
    for name in MODULES:
        for module in dependencies[name]:
            _copy(stage, root, f"/{base}/{module}")
    _run(busybox, "depmod", "-b", str(root), release)


def _initramfs(stage, root, release):
    for directory in ("proc", "sys", "dev", "run", "tmp", "mnt", "var", "usr/bin", "usr/sbin"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "var/run").symlink_to("/run")
    os.mknod(root / "dev/console", 0o600 | stat.S_IFCHR, os.makedev(5, 1))  # init's stdin and stdout
    for binary in ("/bin/busybox", "/usr/sbin/qemu-ga"):
        _copy(stage, root, binary)
    for library in _libraries(stage, "/usr/sbin/qemu-ga"):
        _copy(stage, root, library)
    _modules(stage, root, release)
    for name, guest_path in GUEST_FILES.items():
        target = root / guest_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / name, target)
        target.chmod(0o755)
    names = sorted(str(path.relative_to(root)) for path in root.rglob("*"))
    archive = subprocess.run(
        [str(stage / "bin/busybox"), "cpio", "-o", "-H", "newc"],
        input="\n".join(names).encode(),
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    return gzip.compress(archive, compresslevel=6, mtime=0)


def build(log=print):
    """The kernel and initramfs for the current package versions, built only when not cached."""
    release, versions = resolve_packages()
    key = cache_key(versions)
    done = CACHE / key
    if not (done / "initrd.gz").exists():
        started = time.monotonic()
        log(f"Building the tiny Linux guest (kernel {release}) into {done}")
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="build-", dir=CACHE) as work:
            work = Path(work)
            stage, root, result = work / "stage", work / "root", work / "result"
            for directory in (stage, root, result):
                directory.mkdir()
            _fetch_and_unpack(versions, stage)
            (result / "initrd.gz").write_bytes(_initramfs(stage, root, release))
            shutil.copy(stage / f"boot/vmlinuz-{release}", result / "vmlinuz")
            manifest = {"release": release, "packages": versions, "build_seconds": round(time.monotonic() - started, 1)}
            (result / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            for stale in CACHE.iterdir():
                if stale.name != work.name:
                    shutil.rmtree(stale)
            result.rename(done)
        log(f"Built in {time.monotonic() - started:.1f} s")
    return TinyLinux(kernel=done / "vmlinuz", initrd=done / "initrd.gz")


if __name__ == "__main__":
    guest = build(log=lambda message: print(message, file=sys.stderr))
    print(guest.kernel.parent)
