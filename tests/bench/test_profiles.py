"""Pure parts of the bench's profiles, ratios and load: py-spy's stacks ranked, figures as
multiples of the raw JetStream baseline, mail taking turns between the mailboxes."""

from __future__ import annotations

from collections import Counter

from devtools.bench.hotspots import as_text, hotspots
from devtools.bench.ratios import baseline_ratios
from devtools.harness.mail import Sample, spread

# A service and its worker: py-spy's process frames, Sakspost's functions and a library's.
SERVICE = 'process 1:"python -m services.router";<module> (services/router/__main__.py:9)'
MAIN = "main (services/router/__main__.py:5)"
RAW = "\n".join(
    [
        f"{SERVICE};{MAIN};route (services/router/app.py:40);loads (json/__init__.py:346) 6",
        f"{SERVICE};{MAIN};route (services/router/app.py:41) 3",
        'process 1:"python";process 2:"worker";work (services/common/workers.py:80);'
        "route (services/router/app.py:41);route (services/router/app.py:50) 1",
    ]
)


def test_hotspots_rank_innermost_and_own_functions() -> None:
    profile = hotspots(RAW, top=2)
    assert profile.samples == 10
    assert [(s.function, s.samples) for s in profile.by_self] == [
        ("loads (json/__init__.py)", 6),
        ("route (services/router/app.py)", 4),
    ]
    # Sakspost's own functions only, each once per stack (recursion too), no module level.
    assert [(s.function, s.samples) for s in profile.by_inclusive] == [
        ("route (services/router/app.py)", 10),
        ("main (services/router/__main__.py)", 9),
    ]
    assert profile.by_inclusive[0].share == 1.0
    assert "60.0%" in as_text("router", profile)


def test_a_profile_without_samples_is_empty() -> None:
    assert hotspots("").samples == 0
    assert hotspots("garbage\n").by_self == []


def test_figures_become_multiples_of_the_baseline() -> None:
    figures = {
        "baseline.hop_ms.p50": 0.5,
        "baseline.cpu_ms_per_hop": 0.25,
        "baseline.messages_per_second": 2000.0,
        "latency_ms.routed.p95": 100.0,
        "latency_ms.routed.count": 200.0,
        "stage_ms.route.p50": 5.0,
        "cpu_ms_per_mail.router": 10.0,
        "throughput.routed_per_second": 10.0,
        "graph.reads_per_mail": 2.0,
    }
    assert baseline_ratios(figures) == {
        "vs_baseline.latency_ms.routed.p95": 200.0,
        "vs_baseline.stage_ms.route.p50": 10.0,
        "vs_baseline.cpu_ms_per_mail.router": 40.0,
        "vs_baseline.throughput.routed_per_second": 0.005,
    }


def test_mail_takes_turns_between_the_mailboxes() -> None:
    counts = {"a@x": 5, "b@x": 1, "c@x": 2}
    raw = b"Subject: x\r\n\r\nx\r\n"
    samples = [
        Sample(f"{box}{n}", raw, box, "offisiell") for box in counts for n in range(counts[box])
    ]
    mails = spread(samples, 12, "run")
    assert [m.mailbox for m in mails[:3]] == ["a@x", "b@x", "c@x"]
    assert Counter(m.mailbox for m in mails) == {"a@x": 4, "b@x": 4, "c@x": 4}
    assert len({m.message_id for m in mails}) == 12
    assert [m.raw.count(b"Message-ID") for m in mails] == [1] * 12
