"""Check the system libraries a dependency needs, and print the exact install command if missing.

WeasyPrint (the archival PDF renderer) loads Pango, HarfBuzz and fontconfig at run time; a font
must exist for text to render. Python packages cannot bring these, so `make` checks them first.
HarfBuzz's subsetter is not needed to render, only to render fast (without it WeasyPrint subsets
fonts with fontTools, about five times the CPU per PDF), so its absence is reported and does not
stop `make`. Nor does Chromium's: the overview's browser tests drive Debian's `chromium` and are
skipped, saying so, where it is missing.
"""

from __future__ import annotations

import ctypes.util
import shutil
import subprocess
import sys

# library name for ctypes -> Debian package that provides it
LIBRARIES = {
    "pango-1.0": "libpango-1.0-0",
    "pangoft2-1.0": "libpangoft2-1.0-0",
    "harfbuzz": "libharfbuzz0b",
    "fontconfig": "libfontconfig1",
}
FONT_PACKAGE = "fonts-dejavu-core"
# Recommended, as the image installs it: the rendering figures assume it.
SPEED_LIBRARIES = {"harfbuzz-subset": "libharfbuzz-subset0"}


def missing_packages() -> list[str]:
    missing = [
        package for lib, package in LIBRARIES.items() if ctypes.util.find_library(lib) is None
    ]
    fc_list = shutil.which("fc-list")
    fonts = (
        subprocess.run([fc_list], capture_output=True, text=True, check=False).stdout  # noqa: S603
        if fc_list
        else ""
    )
    if not fonts.strip():
        missing.append(FONT_PACKAGE)
    return missing


def missing_speedups() -> list[str]:
    return [
        package for lib, package in SPEED_LIBRARIES.items() if ctypes.util.find_library(lib) is None
    ]


def main() -> int:
    if shutil.which("chromium") is None:
        print("The overview's browser tests are skipped without Debian's Chromium.")
        print("  sudo apt-get install -y --no-install-recommends chromium")
    slow = missing_speedups()
    if slow:
        print("Archival PDFs render about five times slower without HarfBuzz's font subsetter.")
        print(f"  sudo apt-get install -y {' '.join(slow)}")
    missing = missing_packages()
    if missing:
        print("Missing system libraries for the archival PDF renderer (WeasyPrint).")
        print("Install them with:")
        print(f"  sudo apt-get update && sudo apt-get install -y {' '.join(missing)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
