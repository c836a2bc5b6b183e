"""How fast the emulator's Graph behaviour runs: Graph's times, shortened for development."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timings:
    batch_window: float = 0.05  # notifications arriving this close together share one POST
    max_batch: int = 50
    delivery_timeout: float = 10.0  # Graph waits 10 s for a notification endpoint
    validation_timeout: float = 10.0  # and 10 s for the validation handshake
    retry_initial: float = 0.5  # Graph retries failed deliveries with exponential backoff ...
    retry_max_delay: float = 8.0
    retry_give_up: float = 120.0  # ... for up to 4 hours; shortened here
    expiry_sweep: float = 1.0  # how often expired subscriptions are removed
    flush_interval: float = 0.5  # how often changed state is written to --data-dir
