"""Reading a service's `/metrics` as a test would: every sample, by name and labels."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]
# How often a condition on the metrics is looked at again (Prometheus itself scrapes every 30 s).
SCRAPE_INTERVAL_SECONDS = 0.2


@dataclass(frozen=True)
class Scrape:
    samples: list[tuple[str, Labels, float]]

    def value(self, name: str, **labels: str) -> float:
        """The sum of every sample named `name` whose labels include `labels` (0 when none)."""
        return sum(
            value
            for sample, have, value in self.samples
            if sample == name and all(have.get(k) == v for k, v in labels.items())
        )

    def series(self, name: str) -> list[Labels]:
        return [have for sample, have, _ in self.samples if sample == name]


async def scrape(port: int) -> Scrape:
    async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain")
    samples = [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]
    return Scrape(samples)


async def scrape_until(port: int, holds: Callable[[Scrape], bool], within: float = 60.0) -> Scrape:
    """Scrape until `holds` is true: a condition the service reaches by itself (a retry it makes
    after a 429), checked between its own steps. Bounded by `within`, never a speed check."""

    async def until() -> Scrape:
        while not holds(found := await scrape(port)):
            await asyncio.sleep(SCRAPE_INTERVAL_SECONDS)
        return found

    return await asyncio.wait_for(until(), within)
