"""Fault injection over the whole running stack: `make chaos` (`python -m devtools.chaos`)."""
