from pathlib import Path

from webvirt.core.operations import handler, host_spec, report_progress
from webvirt.hypervisor import storage as pools

from .inventory import apply_pools, forget_pool


def refresh_storage(host):
    apply_pools(host, pools.list_pools(host.connection_spec()))


def _then_refresh(operation, message):
    refresh_storage(operation.host)
    return message


@handler("pool.create", "Create pool")
def create_pool(operation):
    p = operation.params
    xml = pools.build_pool_xml(
        name=p["name"],
        kind=p["kind"],
        target_path=p.get("target_path", ""),
        volume_group=p.get("volume_group", ""),
        nfs_host=p.get("nfs_host", ""),
        nfs_path=p.get("nfs_path", ""),
    )
    pools.define_pool(host_spec(operation), xml, autostart=p.get("autostart", False))
    return _then_refresh(operation, f"Pool {p['name']} created and started.")


def _pool_action(operation):
    action = operation.kind.removeprefix("pool.")
    message = pools.pool_action(host_spec(operation), operation.params["pool_uuid"], action)
    if action == "delete":
        forget_pool(operation.host, operation.params["pool_uuid"])
    return _then_refresh(operation, message)


for _action, _label in {
    "start": "Start pool",
    "stop": "Stop pool",
    "refresh": "Refresh pool",
    "autostart": "Enable autostart of pool",
    "no-autostart": "Disable autostart of pool",
    "delete": "Remove pool",
}.items():
    handler(f"pool.{_action}", _label)(_pool_action)


@handler("volume.create", "Create volume")
def create_volume(operation):
    p = operation.params
    path = pools.create_volume(
        host_spec(operation), p["pool_uuid"], name=p["name"], capacity=p["capacity"], fmt=p["format"]
    )
    return _then_refresh(operation, f"Created {path}.")


@handler("volume.resize", "Resize volume")
def resize_volume(operation):
    p = operation.params
    capacity = pools.resize_volume(host_spec(operation), p["pool_uuid"], p["name"], p["capacity"])
    return _then_refresh(operation, f"{p['name']} is now {capacity / 2**30:.2f} GiB.")


@handler("volume.clone", "Clone volume")
def clone_volume(operation):
    p = operation.params
    path = pools.clone_volume(
        host_spec(operation),
        p["pool_uuid"],
        p["name"],
        name=p["new_name"],
        progress=lambda fraction: report_progress(operation, fraction),
    )
    return _then_refresh(operation, f"Copied to {path}.")


@handler("volume.delete", "Delete volume")
def delete_volume(operation):
    p = operation.params
    return _then_refresh(operation, pools.delete_volume(host_spec(operation), p["pool_uuid"], p["name"]))


def _remove_upload(operation):
    Path(operation.params["file"]).unlink(missing_ok=True)


@handler("volume.upload", "Upload volume", cleanup=_remove_upload)
def upload_volume(operation):
    p = operation.params
    with open(p["file"], "rb") as source:
        path = pools.upload_volume(
            host_spec(operation),
            p["pool_uuid"],
            name=p["name"],
            fmt=p["format"],
            source=source,
            size=p["size"],
            progress=lambda fraction: report_progress(operation, fraction),
        )
    return _then_refresh(operation, f"Uploaded {p['size'] / 2**20:.1f} MiB to {path}.")
