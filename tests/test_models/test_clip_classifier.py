"""ClipImageClassifier and ClipClsDataPreprocessor (mmpretrain) on real CamVid
crops: equality with ImageClassifier at T = 1, clip shapes, gradients to the
cell's α, and a real mmpretrain Runner on a tiny CustomDataset built
in-test."""
import copy
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from fixtures import MEAN, SAMPLE, STD
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import das_mmseg  # noqa: F401

CAMVID_CLASSES = ('sky', 'building', 'pole', 'road', 'sidewalk', 'tree',
                  'signsymbol', 'fence', 'car', 'pedestrian', 'bicyclist')


def classifier_cfg(clip: bool = True,
                   fusion: str = 'logits',
                   num_frames=None,
                   video: bool = False,
                   num_classes: int = len(CAMVID_CLASSES),
                   **kwargs) -> dict:
    backbone = dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(3, ))
    if video:
        backbone.update(type='VideoResNet')  # T: the classifier's
    cfg = dict(
        type='ClipImageClassifier' if clip else 'ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=128,
            loss=dict(type='CrossEntropyLoss')),
        data_preprocessor=dict(
            type='ClipClsDataPreprocessor' if clip else 'ClsDataPreprocessor',
            mean=MEAN,
            std=STD,
            to_rgb=True,
            num_classes=num_classes))
    if clip:
        cfg.update(fusion=fusion, num_frames=num_frames, **kwargs)
    return cfg


def build(cfg: dict, seed: int = 0):
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    return MODELS.build(copy.deepcopy(cfg))


def camvid_crops(split: str, count: int, size: int):
    """``count`` square crops of real CamVid images (BGR uint8, ``size``
    pixels) with their dominant class."""
    names = sorted(os.listdir(osp.join(SAMPLE, 'img_dir', split)))
    crops = []
    for name in names:
        image = mmcv.imread(osp.join(SAMPLE, 'img_dir', split, name))
        label = mmcv.imread(
            osp.join(SAMPLE, 'ann_dir', split, name.replace('.jpg', '.png')),
            flag='unchanged')
        for x in (0, 60, 120):  # three 120x120 tiles across the 180x240 image
            tile = label[30:150, x:x + 120]
            classes = np.bincount(
                tile[tile < 255].ravel(), minlength=len(CAMVID_CLASSES))
            crops.append((mmcv.imresize(image[30:150, x:x + 120],
                                        (size, size)), int(classes.argmax())))
            if len(crops) == count:
                return crops
    return crops


@pytest.fixture(scope='module')
def batch():
    """Four real 32x32 crops, packed as mmpretrain's PackInputs does."""
    crops = camvid_crops('val', 4, 32)
    return dict(
        inputs=[
            torch.from_numpy(img).permute(2, 0, 1).contiguous()
            for img, _ in crops
        ],
        data_samples=[DataSample().set_gt_label(label) for _, label in crops])


def to_clip_batch(batch: dict, frames) -> dict:
    clip = copy.deepcopy(batch)
    clip['inputs'] = [torch.cat(frames(img), 0) for img in batch['inputs']]
    return clip


def run(model, data: dict, mode: str):
    processed = model.data_preprocessor(
        copy.deepcopy(data), training=mode == 'loss')
    return model(**processed, mode=mode)


@pytest.mark.parametrize('fusion', ['logits', 'features'])
def test_at_one_frame_equals_image_classifier(batch, fusion):
    clip_model = build(classifier_cfg(fusion=fusion)).train()
    plain = build(classifier_cfg(clip=False), seed=1).train()
    plain.load_state_dict(clip_model.state_dict())
    torch.testing.assert_close(
        run(clip_model, batch, 'loss')['loss'],
        run(plain, batch, 'loss')['loss'])
    clip_model.eval(), plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            run(clip_model, batch, 'tensor'), run(plain, batch, 'tensor'))
        clip_scores = torch.stack(
            [s.pred_score for s in run(clip_model, batch, 'predict')])
        torch.testing.assert_close(
            clip_scores,
            torch.stack([s.pred_score for s in run(plain, batch, 'predict')]))


@pytest.mark.parametrize('num_frames', [1, 4, 8])
def test_video_backbone_on_pipeline_clips(batch, num_frames):
    """Clips of flipped/rolled frames through the clip preprocessor and a video
    ResNet: scores (N, K), fused logits are the mean of the per-frame head
    outputs, every parameter gets a gradient."""
    model = build(classifier_cfg(num_frames=num_frames, video=True)).train()
    clips = to_clip_batch(
        batch, lambda img: [img.roll(t, dims=-1) for t in range(num_frames)])
    loss = run(model, clips, 'loss')['loss']
    loss.backward()
    trained = [
        p for n, p in model.named_parameters()
        if num_frames > 1 or '.temporal.' not in n
    ]
    assert torch.isfinite(loss) and all(
        p.grad is not None and torch.isfinite(p.grad).all() for p in trained)
    model.eval()
    with torch.no_grad():
        processed = model.data_preprocessor(copy.deepcopy(clips))
        # A one-frame clip is the image: it comes out 4-D, as images do.
        assert processed['inputs'].shape == ((4, 3, 32,
                                              32) if num_frames == 1 else
                                             (4, num_frames, 3, 32, 32))
        scores = model(processed['inputs'])
        feats, frames = model.frame_features(processed['inputs'])
        assert scores.shape == (4,
                                len(CAMVID_CLASSES)) and frames == num_frames
        torch.testing.assert_close(
            scores,
            model.head(feats).unflatten(0, (4, num_frames)).mean(1))


def test_clip_cls_preprocessor_normalises_every_frame(batch):
    pre = dict(mean=MEAN, std=STD, to_rgb=True, pad_size_divisor=16)
    clip_pre = MODELS.build(dict(type='ClipClsDataPreprocessor', **pre))
    image_pre = MODELS.build(dict(type='ClsDataPreprocessor', **pre))
    frames = lambda img: [img, img.flip(-1)]  # noqa: E731
    clips = clip_pre(to_clip_batch(batch, frames))
    for t in range(2):
        frame_batch = copy.deepcopy(batch)
        frame_batch['inputs'] = [frames(img)[t] for img in batch['inputs']]
        torch.testing.assert_close(clips['inputs'][:, t],
                                   image_pre(frame_batch)['inputs'])
    assert [s.gt_label.item() for s in clips['data_samples']
            ] == [s.gt_label.item() for s in batch['data_samples']]
    # images: bit for bit mmpretrain's (the clip preprocessor does the
    # host's conversion and normalisation itself, with the same arithmetic)
    assert torch.equal(
        clip_pre(copy.deepcopy(batch))['inputs'],
        image_pre(copy.deepcopy(batch))['inputs'])


def test_clip_cell_in_front_gives_alpha_gradients_and_fusion_is_validated(
        batch):
    cell = dict(type='ClipCell', num_frames=4, num_nodes=2, mean=MEAN, std=STD)
    model = build(classifier_cfg(video=True, num_frames=4,
                                 clip_cell=cell)).train()
    with model.clip_cell.arch_grad():
        run(model, batch, 'loss')['loss'].backward()
        for param in model.clip_cell.arch_parameters():
            assert param.grad is not None and torch.isfinite(
                param.grad).all() and param.grad.abs().sum() > 0
    with pytest.raises(
            ValueError,
            match="fusion must be one of \\('logits', 'features'\\)"):
        build(classifier_cfg(fusion='aligned'))


def write_custom_dataset(root: str, crops, classes) -> None:
    """mmpretrain CustomDataset folders ``root/<class>/<i>.png`` of the crops
    whose class is in ``classes``."""
    for i, (image, label) in enumerate(crops):
        if CAMVID_CLASSES[label] in classes:
            mmcv.imwrite(image,
                         osp.join(root, CAMVID_CLASSES[label], f'{i:03d}.png'))


@pytest.mark.slow
def test_mmpretrain_runner_trains_and_evaluates(tmp_path):
    """CamVid crops labelled by dominant class, in CustomDataset folders (the
    classes both splits have)."""
    from mmengine.runner import Runner
    crops = dict(
        train=camvid_crops('train', 24, 40), val=camvid_crops('val', 8, 40))
    classes = sorted({CAMVID_CLASSES[label]
                      for _, label in crops['train']}
                     & {CAMVID_CLASSES[label]
                        for _, label in crops['val']})
    assert len(classes) >= 2
    for split, split_crops in crops.items():
        write_custom_dataset(str(tmp_path / split), split_crops, classes)
    model = classifier_cfg(
        video=True,
        num_frames=2,
        num_classes=len(classes),
        clip_cell=dict(
            type='ClipCell', num_frames=2, num_nodes=1, mean=MEAN, std=STD))
    loader = lambda split, pipeline: dict(  # noqa: E731
        batch_size=4,
        num_workers=0,
        sampler=dict(
            type='InfiniteSampler' if split == 'train' else 'DefaultSampler',
            shuffle=split == 'train'),
        dataset=dict(
            type='CustomDataset',
            data_root=str(tmp_path),
            data_prefix=split,
            classes=classes,
            pipeline=pipeline))
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            work_dir=str(tmp_path / 'work'),
            model=model,
            randomness=dict(seed=0),
            train_dataloader=loader('train', [
                dict(type='LoadImageFromFile'),
                dict(type='RandomResizedCrop', scale=32),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackInputs')
            ]),
            val_dataloader=loader('val', [
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(32, 32)),
                dict(type='PackInputs')
            ]),
            val_evaluator=dict(type='Accuracy', topk=(1, )),
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
            train_cfg=dict(by_epoch=False, max_iters=4, val_interval=4),
            val_cfg=dict(),
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=2),
                checkpoint=dict(
                    type='CheckpointHook', by_epoch=False, interval=4)),
            log_level='WARNING'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert 0 <= runner.val_loop.run()['accuracy/top1'] <= 100


def test_the_cell_takes_its_normalisation_from_the_data_preprocessor():
    cell = dict(type='ClipCell', num_frames=2, num_nodes=1)
    model = build(classifier_cfg(clip_cell=cell))
    space = model.clip_cell.space
    assert space.mean == pytest.approx(MEAN) and space.channel_order == 'rgb'
    # no conversion (CIFAR's arrays are RGB already): the cell's own setting
    cfg = classifier_cfg(clip_cell=cell)
    cfg['data_preprocessor'].update(to_rgb=False)
    assert build(cfg).clip_cell.space.channel_order == 'rgb'
    with pytest.raises(ValueError, match=r"channel_order='bgr' contradicts"):
        build(classifier_cfg(clip_cell=dict(cell, channel_order='bgr')))
    with pytest.raises(
            ValueError,
            match=(r'clip_cell.mean=\[1, 2, 3\] contradicts the data '
                   r'preprocessor \(ClipClsDataPreprocessor\)')):
        build(classifier_cfg(clip_cell=dict(cell, mean=[1, 2, 3])))


def test_t_is_the_classifiers_and_filled_into_cell_and_backbone():
    """The classifier owns T as the segmentor does: filled into the cell and
    the temporal modules at build, and a second, different statement is an
    error naming both."""
    cell = dict(type='ClipCell', num_nodes=1)
    model = build(classifier_cfg(num_frames=3, video=True, clip_cell=cell))
    assert model.clip_cell.num_frames == model.backbone.num_segments == 3
    assert all(m.num_segments == 3 for m in model.backbone.temporal_modules())
    cfg = classifier_cfg(num_frames=3, video=True, clip_cell=cell)
    cfg['backbone']['num_segments'] = 2
    with pytest.raises(
            ValueError,
            match=(r'T is stated twice with different values: num_frames=3 '
                   r'and backbone.num_segments=2')):
        build(cfg)
