"""A local stand-in for ACOS WebSak's Integration API (see `app.py` for its routes)."""

from devtools.websak_standin.runner import RunningStandIn, run_standin

__all__ = ["RunningStandIn", "run_standin"]
