"""A Microsoft Graph mail emulator on 127.0.0.1: mailboxes, delta, subscriptions, SMTP intake.

`run_emulator(org)` serves it in-process; `python -m devtools.graph_emulator` runs it alone.
"""

from devtools.graph_emulator.server import RunningEmulator, run_emulator
from devtools.graph_emulator.timings import Timings

__all__ = ["RunningEmulator", "Timings", "run_emulator"]
