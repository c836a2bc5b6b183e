"""The NATS Helm chart's values, generated from the permission declaration, and an offline boot.

`values.py` renders `deploy/nats/values.yaml`; `render.py` turns those values into the
nats-server configuration the official chart would render; `__main__.py` (`make lint`) checks the
file is current and boots three nodes with that configuration, TLS included.
"""
