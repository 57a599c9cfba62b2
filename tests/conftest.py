"""The pytest fixtures shared by the test modules; plain helpers (ROOT,
SAMPLE, run_tool, ...) are in fixtures.py.

The tests run as a process that has read a shipped config: with the safe
checkpoint I/O that the configs' ``custom_imports`` switch on
(``das_mmseg.safe_io``); test_import_side_effects.py checks, in fresh
processes, that ``import das_mmseg`` alone does not.
"""
import pytest
import torch
from fixtures import ROOT, clear_global_instances

import das_mmseg.safe_io  # noqa: F401


@pytest.fixture(scope='session')
def repo_root():
    return ROOT


@pytest.fixture(autouse=True, scope='module')
def fresh_global_instances_per_module():
    clear_global_instances()  # before module-scoped fixtures that run a Runner


@pytest.fixture(autouse=True)
def fresh_global_instances():
    clear_global_instances()


@pytest.fixture(scope='module')
def one_thread():
    """One intra-op thread for a module of tiny models: on a shared 2-core
    machine two busy-waiting OpenMP threads on tiny tensors run several times
    slower than one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
