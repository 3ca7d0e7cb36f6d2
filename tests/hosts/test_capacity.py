"""Host capacity: what running guests are given against the host's totals, overcommit, pool space."""

from django.urls import reverse

from webvirt.hosts.capacity import host_capacity


def test_running_guests_count_and_overcommit_is_said(admin_client, test_host):
    alpha, beta = test_host.guests.get(name="alpha"), test_host.guests.get(name="beta")
    assert alpha.is_active and not beta.is_active
    capacity = host_capacity(test_host)
    assert capacity.vcpus.given == alpha.vcpus and capacity.vcpus.defined == alpha.vcpus + beta.vcpus
    assert capacity.memory_mib.given == alpha.memory_mib and capacity.memory_mib.total == test_host.memory_mib
    page = admin_client.get(reverse("hosts:detail", args=[test_host.pk])).content.decode()
    assert f"{alpha.vcpus} of {test_host.cpus} given to running guests" in page and "overcommitted" not in page

    beta.vcpus = test_host.cpus * 2  # a guest that is off still counts once it runs
    beta.save()
    capacity = host_capacity(test_host)
    assert capacity.vcpus.given == alpha.vcpus and capacity.vcpus.overcommit > 2
    page = admin_client.get(reverse("hosts:detail", args=[test_host.pk])).content.decode()
    assert f"{capacity.vcpus.overcommit}\u00d7 overcommitted" in page


def test_pools_show_their_space(admin_client, storage_host):
    pool = storage_host.pools.get()
    page = admin_client.get(reverse("hosts:detail", args=[storage_host.pk])).content.decode()
    assert f"Pool {pool.name}" in page and 'aria-label="Space used in pool images"' in page


def test_gone_guests_hold_nothing(test_host):
    guests = test_host.guests.all()
    guests.update(gone_at=guests.first().synced_at)
    capacity = host_capacity(test_host)
    assert capacity.vcpus.given == capacity.vcpus.defined == capacity.memory_mib.given == 0
