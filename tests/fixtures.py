"""Helpers shared by the test modules: plain constants and functions, imported
as ``from fixtures import ROOT, SAMPLE, run_tool`` (pytest puts ``tests/`` on
``sys.path``). The pytest fixtures and hooks themselves live in conftest.py."""
import os
import os.path as osp
import subprocess
import sys

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
