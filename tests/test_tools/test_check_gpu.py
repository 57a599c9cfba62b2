"""tools/check_gpu.py, the first command on a GPU machine (issue 20.4): on a
machine without CUDA it skips every check that needs one and says so; its
CPU rehearsal (``--device cpu --quick``) runs the real checks: the demo
trained and tested, a 2-process search over gloo with α equal on both
ranks, a step of the paper's VOC setting against its image baseline."""
import json

import pytest
from fixtures import load_tool, run_tool

pytestmark = pytest.mark.slow


def report(out):
    return json.loads((out / 'check_gpu.json').read_text())


def test_without_cuda_every_gpu_check_is_skipped_with_a_reason(tmp_path):
    proc = run_tool(['tools/check_gpu.py', '--out', str(tmp_path)])
    checks = report(tmp_path)['checks']
    assert checks['environment']['status'] == 'ok'
    assert checks['environment']['figures']['mmcv_ops_cuda']
    skipped = {n: c for n, c in checks.items() if n != 'environment'}
    assert len(skipped) == 6
    for check in skipped.values():
        assert check['status'] == 'skipped'
        assert 'no CUDA device' in check['reason']
    assert 'skipped  no CUDA device' in proc.stdout


def test_the_cpu_rehearsal_runs_the_checks(tmp_path):
    proc = run_tool([
        'tools/check_gpu.py', '--device', 'cpu', '--quick', '--out',
        str(tmp_path), '--only', 'mmcv_ops', 'demo_fp32', 'demo_amp',
        'dist_search', 'paper_step', '--pairs', 'voc'
    ],
                    timeout=600)
    checks = report(tmp_path)['checks']
    assert {
        n: c['status']
        for n, c in checks.items()
    } == dict(
        mmcv_ops='skipped',
        demo_fp32='ok',
        demo_amp='skipped',
        dist_search='ok',
        paper_step='ok')
    assert 'needs a CUDA device' in checks['demo_amp']['reason']
    demo = checks['demo_fp32']['figures']
    assert 0 <= demo['mIoU'] <= 100
    assert (tmp_path / 'demo_fp32_test.log').exists()
    dist = checks['dist_search']['figures']
    assert dist['ranks'] == 2 and dist['backend'] == 'gloo'
    assert dist['alpha_equal_on_every_rank']
    step = checks['paper_step']['figures']['voc']
    assert set(step['seconds']) == {
        'image weight step, fp32', 'DAS weight step, fp32', 'DAS α step, fp32'
    }
    assert step['ratio_to_image_fp32']['DAS weight step, fp32'] > 1
    assert step['estimated_mb']['DAS weight step, fp32'] > step[
        'estimated_mb']['image weight step, fp32'] > 0
    assert 'α equal on every rank' in proc.stdout


def test_a_failed_check_is_reported_and_fails_the_command(
        tmp_path, monkeypatch, capsys):
    """The harness: a check that raises is reported as failed with its
    error, the next ones still run, and the command exits 1."""
    check_gpu = load_tool('tools/check_gpu.py')  # a fresh module

    def broken(ctx):
        raise RuntimeError('mmcv has no compiled ops')

    monkeypatch.setitem(check_gpu.CHECKS, 'environment', broken)
    code = check_gpu.main([
        '--device', 'cpu', '--out',
        str(tmp_path), '--only', 'environment', 'mmcv_ops'
    ])
    assert code == 1
    checks = report(tmp_path)['checks']
    assert checks['environment']['status'] == 'failed'
    assert checks['environment']['error'] == (
        'RuntimeError: mmcv has no compiled ops')
    assert checks['mmcv_ops']['status'] == 'skipped'
    assert 'environment  failed   RuntimeError: mmcv has no compiled ops' in (
        capsys.readouterr().out)
