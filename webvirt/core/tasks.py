"""The worker's tasks: a lane's turn (core/lanes.py), and beat's check for lanes nobody runs."""

import logging

from celery import shared_task

from . import lanes, leases

log = logging.getLogger(__name__)

WAKE_SECONDS = 10.0


@shared_task(acks_late=True)
def run_lane(lane):
    """Run the lane's oldest unfinished Operation, then send the lane again. Safe to deliver twice:
    the lane's lease lets one worker in at a time, and finished Operations are never run again."""
    lanes.run_next(lane)


@shared_task
def wake_lanes():
    if leases.once_per_period("wake-lanes", WAKE_SECONDS):
        sent = lanes.wake_idle()
        if sent:
            log.info("sent %d lanes that nobody was running", sent)
