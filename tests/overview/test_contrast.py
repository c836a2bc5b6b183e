"""Issue 19: the overview's colour pairs meet WCAG 2.1 AA contrast (4.5:1 for text, 3:1 for the
focus outline against the page), read from the stylesheet itself so a changed colour is checked."""

from __future__ import annotations

import re

import pytest

from services.overview.web import STATIC

COLOURS = dict(
    re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6});", (STATIC / "overview.css").read_text())
)

# (foreground, background, minimum ratio): every pair the stylesheet puts together.
PAIRS = [
    ("text", "background", 4.5),
    ("text", "stripe", 4.5),
    ("muted", "background", 4.5),
    ("muted", "stripe", 4.5),
    ("link", "background", 4.5),
    ("link", "stripe", 4.5),
    ("accent-text", "accent", 4.5),
    ("warning", "background", 4.5),
    ("warning", "stripe", 4.5),
    ("focus", "background", 3.0),
    ("focus-on-accent", "accent", 3.0),
]


def luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of an sRGB colour `#rrggbb`."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_computation_matches_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_each_colour_pair_has_enough_contrast(
    foreground: str, background: str, minimum: float
) -> None:
    assert contrast(COLOURS[foreground], COLOURS[background]) >= minimum
