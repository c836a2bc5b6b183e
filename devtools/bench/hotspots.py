"""The top functions of a py-spy raw profile (pure): by self samples and by inclusive samples.

py-spy's raw format is one collapsed stack per line, outermost frame first, then a space and how
many samples saw it: `process 12:"python -m services.router";main (services/router/app.py:40);…
;run (x.py:9) 17`. Frames are counted per function (the line number dropped): *self* is the
samples a function was the innermost frame in (where the CPU went, mostly in libraries),
*inclusive* the samples one of Sakspost's own functions was anywhere on the stack in (counted once
per stack, so recursion does not count twice): which of its steps the CPU was spent for. py-spy
samples only threads that are running, not idle ones, so the shares are shares of CPU time.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

TOP = 15
# Sakspost's own code, as py-spy names its files (relative to the import path).
OWN = ("services/", "schemas/", "sakspost/", "devtools/")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass(frozen=True)
class Hotspot:
    function: str
    samples: int
    share: float  # of all samples, 0..1


@dataclass(frozen=True)
class Profile:
    samples: int
    by_self: list[Hotspot]
    by_inclusive: list[Hotspot]

    def as_json(self) -> dict[str, object]:
        def rows(spots: list[Hotspot]) -> list[dict[str, object]]:
            return [
                {"function": s.function, "samples": s.samples, "share": round(s.share, 3)}
                for s in spots
            ]

        return {
            "samples": self.samples,
            "self": rows(self.by_self),
            "inclusive": rows(self.by_inclusive),
        }


def _function(frame: str) -> tuple[str, bool] | None:
    """`name (file)` of a frame and whether it is Sakspost's own function (not a module's
    top level); None for py-spy's process and thread frames."""
    if frame.startswith(("process ", "thread ")):
        return None
    found = _FRAME.match(frame)
    if found is None:
        return frame, False
    own = found["file"].startswith(OWN) and found["function"] != "<module>"
    return f"{found['function']} ({found['file']})", own


def hotspots(raw: str, top: int = TOP) -> Profile:
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in map(_function, stack.split(";")) if f is not None]
        if not frames:
            continue
        samples = int(count)
        total += samples
        own[frames[-1][0]] += samples
        for function in {function for function, ours in frames if ours}:
            anywhere[function] += samples

    def ranked(counter: Counter[str]) -> list[Hotspot]:
        return [Hotspot(f, n, n / total) for f, n in counter.most_common(top)]

    return Profile(total, ranked(own), ranked(anywhere))


def as_text(name: str, profile: Profile) -> str:
    """A readable record of one service's profile."""
    lines = [f"{name}: {profile.samples} samples (py-spy, running threads only)", ""]
    titles = ("self samples (any code)", "inclusive samples (Sakspost's own functions)")
    for title, spots in zip(titles, (profile.by_self, profile.by_inclusive), strict=True):
        lines.append(f"top {len(spots)} by {title}:")
        lines.extend(f"{s.share:7.1%} {s.samples:7d}  {s.function}" for s in spots)
        lines.append("")
    return "\n".join(lines)
