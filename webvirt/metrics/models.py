"""Samples: one row per guest (or host) per point in time per resolution, with a float column per
measure (None where the host did not report it). The unique (owner, resolution, time) constraint is
also the index every graph reads through, and makes a repeated roll-up write nothing twice."""

from django.db import models


class GuestSample(models.Model):
    guest = models.ForeignKey("guests.Guest", on_delete=models.CASCADE, related_name="+", db_index=False)
    resolution = models.PositiveIntegerField(help_text="Seconds this point stands for (see metrics/tiers.py).")
    time = models.DateTimeField(help_text="The sample's time; for a roll-up, the start of its period.")
    cpu_percent = models.FloatField(null=True, help_text="Of its vCPUs together: 100 is all of them busy.")
    memory_mib = models.FloatField(null=True, help_text="What its balloon gives it.")
    memory_used_mib = models.FloatField(null=True, help_text="Used inside the guest, if its balloon reports it.")
    memory_rss_mib = models.FloatField(null=True, help_text="Resident on the host: the guest's and QEMU's own.")
    disk_read_bps = models.FloatField(null=True)
    disk_write_bps = models.FloatField(null=True)
    disk_read_iops = models.FloatField(null=True)
    disk_write_iops = models.FloatField(null=True)
    net_rx_bps = models.FloatField(null=True)
    net_tx_bps = models.FloatField(null=True)

    MEASURES = (
        "cpu_percent",
        "memory_mib",
        "memory_used_mib",
        "memory_rss_mib",
        "disk_read_bps",
        "disk_write_bps",
        "disk_read_iops",
        "disk_write_iops",
        "net_rx_bps",
        "net_tx_bps",
    )
    OWNER = "guest_id"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["guest", "resolution", "time"], name="guest_sample_once")]
        indexes = [models.Index(fields=["resolution", "time"], name="guest_sample_age")]  # pruning, roll-ups

    def __str__(self):
        return f"guest {self.guest_id} at {self.time} ({self.resolution} s)"


class HostSample(models.Model):
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="+", db_index=False)
    resolution = models.PositiveIntegerField()
    time = models.DateTimeField()
    cpu_percent = models.FloatField(null=True, help_text="Of all its CPUs together.")
    memory_total_mib = models.FloatField(null=True)
    memory_used_mib = models.FloatField(null=True, help_text="Total less free, buffers and page cache.")

    MEASURES = ("cpu_percent", "memory_total_mib", "memory_used_mib")
    OWNER = "host_id"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "resolution", "time"], name="host_sample_once")]
        indexes = [models.Index(fields=["resolution", "time"], name="host_sample_age")]

    def __str__(self):
        return f"host {self.host_id} at {self.time} ({self.resolution} s)"


class LastCounters(models.Model):
    """A host's raw counters from its last round, so that the next round (on whichever worker)
    can turn the differences into rates: one row per host, rewritten each round."""

    host = models.OneToOneField("hosts.Host", on_delete=models.CASCADE, primary_key=True, related_name="+")
    taken_at = models.DateTimeField()
    guests = models.JSONField(default=dict, help_text="Per guest UUID, its counters (GuestCounters' fields).")
    host_counters = models.JSONField(default=dict, help_text="The host's counters (HostCounters' fields).")

    def __str__(self):
        return f"host {self.host_id} counters at {self.taken_at}"
