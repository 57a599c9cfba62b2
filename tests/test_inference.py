"""Testing and inference of trained clip models: tools/test.py (mmseg and
mmpretrain configs, --out, --show-dir, --tta, tools/dist_test.sh over gloo),
demo/image_demo.py, das_mmseg.apis and DASInferencer on one trained demo run,
with identical predictions, and the clip each image was seen as."""
import os
import os.path as osp
import pickle
import textwrap

import mmcv
import numpy as np
import pytest
import torch
from fixtures import ROOT, SAMPLE
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

import das_mmseg  # noqa: F401
from das_mmseg.apis import (clip_space, inference_clip, inference_model,
                            preprocessed_clips)
from das_mmseg.apis.inference import prepare_batch
from das_mmseg.apis.test import build_test_config, run_test
from das_mmseg.augment import Policy
from das_mmseg.datasets.transforms import ImageToVideo

pytestmark = pytest.mark.usefixtures('one_thread')
OPS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate')
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
VAL_IMAGES = osp.join(SAMPLE, 'img_dir', 'val')


def val_image(index: int = 0) -> str:
    return osp.join(VAL_IMAGES, sorted(os.listdir(VAL_IMAGES))[index])


def write(path, text: str) -> str:
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return str(path)


# ---- tools/test.py as functions (no Runner) --------------------------------


@pytest.fixture
def checkpoint_file(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {}}, path)
    return str(path)


def test_test_config_segmentation_flags(tmp_path, checkpoint_file):
    demo = osp.join(ROOT, 'configs', 'das_demo.py')
    cfg = build_test_config(
        demo,
        checkpoint_file,
        work_dir=str(tmp_path / 'work'),
        out=str(tmp_path / 'preds'),
        show_dir=str(tmp_path / 'show'),
        tta=True,
        cfg_options={'test_dataloader.batch_size': 1})
    assert cfg.load_from == checkpoint_file
    assert cfg.work_dir == str(tmp_path / 'work')
    assert cfg.test_evaluator.output_dir == str(tmp_path / 'preds')
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.visualizer.save_dir == str(tmp_path / 'show')
    # TTA wraps the clip model, and the test set runs the TTA pipeline
    assert cfg.model.type == 'SegTTAModel'
    assert cfg.model.module.type == 'ClipEncoderDecoder'
    assert cfg.test_dataloader.dataset.pipeline[1].type == 'TestTimeAug'
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build_test_config(demo, str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='lacks tta_pipeline'):
        build_test_config(
            demo,
            checkpoint_file,
            tta=True,
            cfg_options={'tta_pipeline': None})


def classification_config(tmp_path) -> str:
    """A tiny mmpretrain config: a clip classifier (T = 2 pan) on a folder of
    real CamVid crops."""
    root = tmp_path / 'cls'
    for index, name in enumerate(sorted(os.listdir(VAL_IMAGES))[:4]):
        image = mmcv.imread(osp.join(VAL_IMAGES, name))
        mmcv.imwrite(
            mmcv.imresize(image[:, :180], (32, 32)),
            str(root / f'class{index % 2}' / f'{index}.png'))
    policy = Policy(ops=OPS, nodes=[[(0, 'shift_x', 0.05)]], num_frames=2)
    return write(
        tmp_path / 'cls_config.py', f'''
        _base_ = ['mmpretrain::_base_/default_runtime.py']
        custom_imports = dict(imports=['das_mmseg'],
                              allow_failed_imports=False)
        model = dict(
            type='ClipImageClassifier',
            data_preprocessor=dict(type='ClipClsDataPreprocessor',
                                   mean={MEAN}, std={STD}, to_rgb=True,
                                   num_classes=2),
            clip_cell=dict(type='ClipCell', num_frames=2, num_nodes=1,
                           policy={policy.to_dict()!r}),
            backbone=dict(type='VideoResNet_CIFAR', depth=18,
                          base_channels=8, stem_channels=8, num_segments=2),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=64))
        test_dataloader = dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='CustomDataset', data_root={str(root)!r},
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='PackInputs')]))
        test_evaluator = dict(type='Accuracy', topk=(1, ))
        test_cfg = dict()
        ''')


def test_test_config_classification_flags(tmp_path, checkpoint_file):
    config = classification_config(tmp_path)
    cfg = build_test_config(
        config,
        checkpoint_file,
        out=str(tmp_path / 'preds.pkl'),
        show_dir=str(tmp_path / 'show'))
    # mmpretrain's meanings: a pickle of the predictions, the
    # VisualizationHook's folder, flip averaging
    assert cfg.test_evaluator == [
        dict(type='Accuracy', topk=(1, )),
        dict(type='DumpResults', out_file_path=str(tmp_path / 'preds.pkl'))
    ]
    hook = cfg.default_hooks.visualization
    assert hook.enable is True and hook.out_dir == str(tmp_path / 'show')
    cfg = build_test_config(config, checkpoint_file, tta=True)
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'ClipImageClassifier'
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'
    with pytest.raises(ValueError, match='without --tta'):
        build_test_config(
            config, checkpoint_file, show_dir=str(tmp_path), tta=True)


@pytest.mark.slow
def test_test_py_runs_an_mmpretrain_clip_classifier(tmp_path):
    """mmpretrain's test loop and evaluator, --out, --show-dir and --tta on a
    clip classifier checkpoint."""
    config = classification_config(tmp_path)
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'cls.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    for tta in (False, True):
        out = tmp_path / f'preds_{tta}.pkl'
        metrics = run_test(
            build_test_config(
                config,
                checkpoint,
                work_dir=str(tmp_path / 'work'),
                out=str(out),
                show_dir=None if tta else str(tmp_path / 'show'),
                tta=tta))
        assert 0 <= metrics['accuracy/top1'] <= 100
        with open(out, 'rb') as f:
            predictions = pickle.load(f)
        assert len(predictions) == 4
        assert all(p['pred_score'].shape == (2, ) for p in predictions)
    assert len(os.listdir(tmp_path / 'show')) == 4


# ---- apis without training -------------------------------------------------


def tiny_clip_segmentor(cell: bool):
    """A small ClipEncoderDecoder with a test pipeline: a 3-frame pan made by
    its clip cell, or by an ImageToVideo step (then no cell)."""
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    policy = Policy(ops=OPS, nodes=[[(0, 'shift_x', 0.1)]], num_frames=3)
    model = MODELS.build(
        ConfigDict(
            type='ClipEncoderDecoder',
            data_preprocessor=dict(
                type='ClipSegDataPreProcessor',
                mean=MEAN,
                std=STD,
                bgr_to_rgb=True),
            clip_cell=dict(
                type='ClipCell',
                num_frames=3,
                num_nodes=1,
                policy=policy.to_dict()) if cell else None,
            num_frames=None if cell else 3,
            backbone=dict(
                type='ResNetV1c',
                depth=18,
                stem_channels=8,
                base_channels=8,
                norm_cfg=dict(type='BN')),
            decode_head=dict(
                type='FCNHead',
                in_channels=64,
                in_index=3,
                channels=8,
                num_convs=1,
                num_classes=11,
                dropout_ratio=0,
                norm_cfg=dict(type='BN'),
                align_corners=False),
            test_cfg=dict(mode='whole'))).eval()
    to_video = [] if cell else [
        dict(type='ImageToVideo', policy=policy.to_dict())
    ]
    model.cfg = Config(
        dict(test_pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(240, 180), keep_ratio=True), *to_video,
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ]))
    return model, policy


def test_inference_model_keeps_the_config_and_takes_files_and_arrays():
    """mmseg's inference_model rewrites model.cfg.test_pipeline in place, so
    a file after an array fails; ours builds the pipeline per call."""
    model, _ = tiny_clip_segmentor(cell=True)
    before = model.cfg.test_pipeline
    image = mmcv.imread(val_image())
    from_array = inference_model(model, image)
    from_file = inference_model(model, val_image())
    assert model.cfg.test_pipeline == before
    assert torch.equal(from_array.pred_sem_seg.data,
                       from_file.pred_sem_seg.data)
    assert from_file.pred_sem_seg.shape == image.shape[:2]
    both = inference_model(model, [val_image(), val_image(1)])
    assert len(both) == 2
    assert torch.equal(both[0].pred_sem_seg.data, from_file.pred_sem_seg.data)


@pytest.mark.parametrize('cell', [True, False], ids=['cell', 'ImageToVideo'])
def test_inference_clip_is_the_clip_the_model_sees(cell):
    """The frames come back as RGB pixels: the reference frame is the image,
    the others the policy's pan, whether the cell or the pipeline made
    them."""
    model, policy = tiny_clip_segmentor(cell)
    image = mmcv.imread(val_image())
    frames = inference_clip(model, val_image())
    assert frames.shape == (3, 180, 240, 3) and frames.dtype == np.uint8
    assert np.abs(frames[policy.ref_frame].astype(int) -
                  image[..., ::-1]).max() <= 1
    expected = ImageToVideo(policy=policy.to_dict())(dict(img=image))['img']
    expected = expected.reshape(180, 240, 3, 3).transpose(2, 0, 1, 3)
    assert np.abs(frames.astype(int) - expected[..., ::-1]).max() <= 1
    data, _ = prepare_batch(model, val_image())
    space = clip_space(model, clip_from_pipeline=not cell)
    assert space.channel_order == 'rgb'
    np.testing.assert_allclose(space.mean, MEAN, rtol=1e-6)
    assert np.array_equal(preprocessed_clips(model, data)[0], frames)


def test_preprocessed_clips_refuses_an_image_model():
    from mmseg.models import EncoderDecoder
    with pytest.raises(TypeError, match='EncoderDecoder'):
        preprocessed_clips(
            EncoderDecoder.__new__(EncoderDecoder), dict(inputs=[]))
