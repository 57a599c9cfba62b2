import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SAMPLE = osp.join(ROOT, 'data', 'camvid_sample')


def run_tool(args, timeout=300, env=None, check=True):
    """Run a project command (a list whose first item is a path relative to the
    repo root) with this Python."""
    cmd = list(args)
    if cmd[0].endswith('.py'):
        cmd = [sys.executable, osp.join(ROOT, cmd[0])] + cmd[1:]
    else:
        cmd[0] = osp.join(ROOT, cmd[0])
    full_env = dict(os.environ, PYTHON=sys.executable, **(env or {}))
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited with {proc.returncode}\n'
                             f'--- stdout ---\n{proc.stdout[-4000:]}\n'
                             f'--- stderr ---\n{proc.stderr[-4000:]}')
    return proc


@pytest.fixture(scope='session')
def repo_root():
    return ROOT


def clear_global_instances():
    """Start as a fresh process does, with no default registry scope and no
    visualizer.

    A Runner of an earlier test leaves its scope (mmseg's or mmpretrain's)
    current, which makes registry lookups depend on test order, and its
    visualizer (configs name it 'visualizer') would be reused with the earlier
    work_dir. mmengine has no public way to drop them, so the managers'
    instance tables are cleared.
    """
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer
    DefaultScope._instance_dict.clear()
    # each ManagerMixin subclass (SegLocalVisualizer, ...) keeps its own table
    pending = [Visualizer]
    while pending:
        cls = pending.pop()
        cls._instance_dict.clear()
        pending.extend(cls.__subclasses__())


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
