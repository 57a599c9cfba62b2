"""The OpenMMLab packaging conventions (issue 18.6): ``model-index.yml`` and a
``metafile.yaml`` per config family in mmseg's format, listing every config
once with only measured results; and mmseg's own ``tools/train.py`` and
``tools/test.py`` (the installed package's ``.mim/tools``) running a DAS
config and its image twin."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import mmseg
import pytest
import yaml
from fixtures import ROOT

TABLE = osp.join(ROOT, 'results', 'camvid_evidence',
                 'camvid-cpu-128x128_search250_train1000', 'table.md')
MIM_TOOLS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools')


def metafiles():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    return [osp.join(ROOT, path) for path in index['Import']]


def models():
    out = []
    for path in metafiles():
        with open(path) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in collections, model['Name']
            out.append(model)
    return out


def test_every_config_is_listed_once_with_its_name():
    listed = [m['Config'] for m in models()]
    configs = sorted(
        osp.relpath(p, ROOT) for p in glob.glob(
            osp.join(ROOT, 'configs', 'das', '**', '*.py'), recursive=True))
    assert sorted(listed) == configs
    for model in models():
        assert osp.isfile(osp.join(ROOT, model['Config']))
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
        assert model['Metadata']['Training Data']
        assert model['Paper']['URL'].startswith('https://arxiv.org/')


def ablation_means():
    """arm -> (mean mIoU, number of seeds) of the committed table."""
    means = {}
    with open(TABLE) as f:
        for line in f:
            found = re.match(
                r'\| (\w+) \| [^|]+ \| \d \| [^|]+ \| [\d.]+ \| '
                r'[^|]*\(n = (\d+)\) \| ([\d.]+)', line)
            if found:
                means[found.group(1)] = (float(found.group(3)),
                                         int(found.group(2)))
    return means


def readme_miou(config_name: str) -> float:
    """The mIoU cell of a config's row in configs/das/README.md's tables
    with an mIoU(ms+flip) column."""
    with open(osp.join(ROOT, 'configs', 'das', 'README.md')) as f:
        for line in f:
            if f'[config]({config_name}.py)' in line and line.count('|') == 14:
                return float(line.split('|')[10])
    raise KeyError(config_name)


def test_results_are_the_measured_ones():
    means = ablation_means()
    with_results = [m for m in models() if 'Results' in m]
    assert len(with_results) >= 6
    for model in with_results:
        miou = model['Results']['Metrics']['mIoU']
        arm = re.search(r'arm (\w+), (\d+) seeds',
                        model['Metadata'].get('Notes', ''))
        if arm:  # the CamVid ablation's mean over seeds
            assert (miou, int(arm.group(2))) == means[arm.group(1)], (
                model['Name'])
        else:  # a single run, as configs/das/README.md reports it
            assert miou == readme_miou(model['Name']), model['Name']


def mim_tool(name, *args, timeout=600):
    proc = subprocess.run(
        [sys.executable, osp.join(MIM_TOOLS, name), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(
            os.environ,
            OMP_NUM_THREADS='1',
            PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', '')))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    'config,options',
    [('das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96', [
        'das_search.search_iters=2', 'train_cfg.max_iters=2',
        'param_scheduler.0.end=2'
    ]), ('pspnet_r18tiny-d16_1xb4-300iter_camvid-sample-96x96', [])],
    ids=['das', 'image_twin'])
def test_mmsegs_own_tools_train_and_test_the_configs(tmp_path, config,
                                                     options):
    path = osp.join(ROOT, 'configs', 'das', config + '.py')
    mim_tool('train.py', path, '--work-dir', str(tmp_path), '--cfg-options',
             'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2', *options)
    with open(tmp_path / 'last_checkpoint') as f:
        checkpoint = f.read().strip()
    out = mim_tool('test.py', path, checkpoint, '--work-dir',
                   str(tmp_path / 'test'))
    assert re.search(r'Iter\(test\) \[16/16\].*mIoU: [\d.]+', out)
