"""Fixtures of the router's tests: Hå's organisation and the router's context."""

from __future__ import annotations

import pytest

from services.common.orgconfig import Organisation, load_organisation
from services.router.context import RouterContext

from .builders import CONFIG


@pytest.fixture(scope="session")
def org() -> Organisation:
    return load_organisation(CONFIG)


@pytest.fixture(scope="session")
def ctx(org: Organisation) -> RouterContext:
    return RouterContext.for_organisation(org)
