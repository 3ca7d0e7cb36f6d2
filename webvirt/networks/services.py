from webvirt.core import operations, policy


def _enqueue(kind, *, host, actor, name, params):
    policy.require(actor, "network.manage", host)
    return operations.enqueue(kind=kind, actor=actor, host=host, target=f"{name} on {host.name}", params=params)


def network_create(*, host, actor, data):
    return _enqueue("network.create", host=host, actor=actor, name=data["name"], params=data)


def network_action(*, network, action, actor):
    params = {"network_uuid": network.uuid}
    return _enqueue(f"network.{action}", host=network.host, actor=actor, name=network.name, params=params)
