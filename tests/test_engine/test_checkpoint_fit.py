"""A checkpoint must fit (issue 19.2): a checkpoint that leaves much of the
model unloaded, brings much the model lacks, or has a clip cell where the
model has none (or the reverse) is refused by ``init_model``, the
inferencer, ``tools/test.py``, ``load_from`` and ``--resume``, naming the
modules and the ways out; a new head on loaded weights still loads."""
import os.path as osp

import pytest
import torch
from fixtures import ROOT, clear_global_instances, load_tool

from das_mmseg.apis import DASInferencer, init_model
from das_mmseg.engine.checkpoint import load_from_local
from das_mmseg.engine.checkpoint.fit import (CheckpointMismatchError,
                                             check_checkpoint_fits)

DAS = osp.join(
    ROOT, 'configs/das/'
    'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py')
IMAGE = osp.join(
    ROOT, 'configs/das/pspnet_r18tiny-d16_1xb4-300iter_camvid-sample-96x96.py')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Checkpoints of the demo's DAS model and of its image baseline (as
    mmengine writes them: weights and meta.cfg), and one without weights."""
    from mmengine.config import Config
    folder = tmp_path_factory.mktemp('checkpoints')
    out = {}
    for name, config in (('das', DAS), ('image', IMAGE)):
        model = init_model(config, device='cpu')
        out[name] = str(folder / f'{name}.pth')
        torch.save(
            dict(
                state_dict=model.state_dict(),
                meta=dict(cfg=Config.fromfile(config).pretty_text)), out[name])
    out['empty'] = str(folder / 'empty.pth')
    torch.save(dict(state_dict={}, meta={}), out['empty'])
    return out


@pytest.mark.parametrize(
    'config, checkpoint, message',
    [(DAS, 'image', r'the model has a clip cell and the checkpoint none\. '
      r'Its config \(meta.cfg\) builds a model of type EncoderDecoder\.'),
     (IMAGE, 'das', r'have no place in the model \(\d+ tensors: .*'
      r'clip_cell \(3\)\); the checkpoint has a clip cell and the model '
      r'none\. Its config \(meta.cfg\) builds a model of type '
      r'ClipEncoderDecoder\.'),
     (DAS, 'empty', r'100% of the model\'s weights are not in it .*Its '
      r'meta holds no config')])
def test_init_model_refuses_a_checkpoint_that_does_not_fit(
        checkpoints, config, checkpoint, message):
    with pytest.raises(CheckpointMismatchError, match=message) as error:
        init_model(config, checkpoints[checkpoint], device='cpu')
    assert 'init_model(..., allow_partial=True)' in str(error.value)
    assert 'Use the config it was trained with' in str(error.value)
    init_model(config, checkpoints[checkpoint], 'cpu', allow_partial=True)
    with pytest.raises(CheckpointMismatchError):
        DASInferencer(config, checkpoints[checkpoint], device='cpu')


def test_a_fitting_checkpoint_and_a_new_head_load(checkpoints):
    model = init_model(DAS, checkpoints['das'], device='cpu')
    state = load_from_local(checkpoints['das'], 'cpu')['state_dict']
    # another number of classes: the classifier has another shape
    state = {k: v for k, v in state.items() if 'conv_seg' not in k}
    check_checkpoint_fits(model, state, 'a new head', 'no way')


@pytest.mark.slow
def test_tools_test_load_from_and_resume_refuse_it(checkpoints, tmp_path):
    clear_global_instances()
    test_tool = load_tool('tools/test.py')
    with pytest.raises(
            CheckpointMismatchError,
            match='default_hooks.checkpoint_fit.allow_partial'):
        test_tool.main(
            [DAS, checkpoints['image'], '--work-dir',
             str(tmp_path / 'test')])
    clear_global_instances()
    train_tool = load_tool('tools/train.py')
    for flag in ('--resume', None):
        clear_global_instances()
        options = [
            f'load_from={checkpoints["image"]}', 'das_search.search_iters=1',
            'train_cfg.max_iters=1'
        ]
        with pytest.raises(
                CheckpointMismatchError,
                match='clip cell and the checkpoint none'):
            train_tool.main([DAS, '--work-dir',
                             str(tmp_path / str(flag))] +
                            ([flag] if flag else []) + ['--cfg-options'] +
                            options)
    assert not list(tmp_path.glob('*/*.pth'))
