"""Counting what reaches libvirt: for tests that pages never call it, and for bench/inventory.py."""

import contextlib
import functools

import libvirt

# Answered by the Python object itself, without the driver.
LOCAL_METHODS = {"UUIDString", "UUID", "name", "connect"}
ALL_CLASSES = (
    libvirt.virConnect,
    libvirt.virDomain,
    libvirt.virStoragePool,
    libvirt.virStorageVol,
    libvirt.virNetwork,
    libvirt.virStream,
)


@contextlib.contextmanager
def libvirt_calls(classes=ALL_CLASSES):
    """Record (as "class.method") each call that reaches libvirt's driver through `classes` while
    the block runs; a page that opened a connection would also call it, so opens need no count."""
    calls = []
    originals = []
    for cls in classes:
        for name, method in list(vars(cls).items()):
            if name.startswith("_") or name in LOCAL_METHODS or not callable(method):
                continue

            @functools.wraps(method)
            def counted(*args, _method=method, _name=f"{cls.__name__}.{name}", **kwargs):
                calls.append(_name)
                return _method(*args, **kwargs)

            originals.append((cls, name, method))
            setattr(cls, name, counted)
    try:
        yield calls
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
