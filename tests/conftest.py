"""Shared test fixtures and settings."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Property tests are derandomised so that a CI run is reproducible; set
# HYPOTHESIS_PROFILE=explore locally to search with fresh random examples.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    """A seeded generator, fresh for every test."""
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def torch():
    """PyTorch (CPU), or skip: the PyTorch-oracle tests run where PyTorch is installed."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: oracle tests skipped")
    torch.set_num_threads(1)
    return torch
