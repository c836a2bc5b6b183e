"""The services present in this checkout, built offline (for provisioning and documentation)."""

from __future__ import annotations

import importlib

from sakspost.components import SERVICE_NAMES, module_exists
from services.common.app import ServiceApp
from services.common.jetstream import Layout, base_layout
from services.common.orgconfig import Organisation
from services.common.settings import Settings


def built_services(settings: Settings, org: Organisation) -> list[ServiceApp]:
    """Every service whose `services.<name>.app` exists, built but not connected."""
    services = []
    for name in SERVICE_NAMES:
        if module_exists(f"services.{name}.app"):
            module = importlib.import_module(f"services.{name}.app")
            services.append(module.build(settings, org))
    return services


def full_layout(settings: Settings, org: Organisation) -> Layout:
    """The common layout plus every service's own streams, buckets and consumers."""
    layout = base_layout(settings)
    streams, buckets, consumers = list(layout.streams), list(layout.buckets), []
    for service in built_services(settings, org):
        own = service.layout()
        streams += [s for s in own.streams if s not in streams]
        buckets += [b for b in own.buckets if b not in buckets]
        consumers += list(own.consumers)
    return Layout(tuple(streams), tuple(buckets), layout.object_stores, tuple(consumers))
