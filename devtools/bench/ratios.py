"""Every pipeline figure as a multiple of the raw JetStream baseline measured in the same run
(pure): the machine is shared and noisy, ratios within one run are what compares across runs.

Latencies and stage times are divided by one raw publish → pull → ack hop (p50), CPU per mail by
the CPU of one such hop (clients and server), and throughput is given as a share of the raw
back-to-back rate. Keys: `vs_baseline.<figure>`.
"""

from __future__ import annotations

HOP_MS = "baseline.hop_ms.p50"
HOP_CPU_MS = "baseline.cpu_ms_per_hop"
RAW_RATE = "baseline.messages_per_second"


def baseline_ratios(figures: dict[str, float]) -> dict[str, float]:
    hop, hop_cpu, raw_rate = figures[HOP_MS], figures[HOP_CPU_MS], figures[RAW_RATE]
    ratios: dict[str, float] = {}
    for key, value in figures.items():
        if key.startswith(("latency_ms.", "stage_ms.")) and not key.endswith(".count") and hop:
            ratios[f"vs_baseline.{key}"] = round(value / hop, 1)
        elif key.startswith("cpu_ms_per_mail.") and hop_cpu:
            ratios[f"vs_baseline.{key}"] = round(value / hop_cpu, 1)
        elif key.startswith("throughput.") and raw_rate:
            ratios[f"vs_baseline.{key}"] = round(value / raw_rate, 4)
    return ratios
