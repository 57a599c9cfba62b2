"""The analysis tools' measurements against hand calculations: the ERF area of
networks whose receptive field is known exactly (also through a real
segmentor on real CamVid images), FLOPs of single ops and their scaling with
T, the image twin of a clip model, and the confusion matrix's IoU."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fixtures import ROOT, SAMPLE
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from torch import nn

import das_mmseg  # noqa: F401
from das_mmseg.analysis import (area_fraction, area_fractions, count_flops,
                                erf_gradients, image_twin)
from das_mmseg.analysis.confusion import accumulate, iou_per_class
from das_mmseg.analysis.erf_data import erf_of_model, erf_pipeline
from das_mmseg.augment import Policy

pytestmark = pytest.mark.usefixtures('one_thread')
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
NORM = dict(type='BN', requires_grad=True)


def ones_conv(in_channels: int, out_channels: int, kernel: int) -> nn.Conv2d:
    conv = nn.Conv2d(
        in_channels, out_channels, kernel, padding=kernel // 2, bias=False)
    nn.init.ones_(conv.weight)
    return conv


# ---- ERF ------------------------------------------------------------------


def test_area_fraction_is_the_smallest_sorted_set():
    erf = np.zeros((10, 10))
    erf[0, :4] = [4, 3, 2, 1]  # total 10
    assert area_fraction(erf, 0.4) == 1 / 100  # 4 >= 4 exactly
    assert area_fraction(erf, 0.41) == 2 / 100
    assert area_fraction(erf, 0.9) == 3 / 100
    assert area_fraction(erf, 1.0) == 4 / 100
    with pytest.raises(ValueError, match='zero everywhere'):
        area_fraction(np.zeros((3, 3)), 0.5)
    with pytest.raises(ValueError, match='share'):
        area_fraction(erf, 0)


def test_erf_of_one_3x3_conv_is_its_nine_pixels():
    conv = ones_conv(3, 4, 3)
    images = torch.randn(2, 3, 15, 17)
    maps = erf_gradients(conv, images)  # centre (7, 8)
    expected = torch.zeros(15, 17)
    expected[6:9, 7:10] = 3 * 4  # channels x classes, weights 1
    assert torch.equal(maps, expected.expand(2, -1, -1))
    fractions = area_fractions(maps[0].numpy())
    # 9 equal pixels: 2, 5 and 9 of them hold 20, 50, 90 %
    assert fractions == {0.2: 2 / 255, 0.5: 5 / 255, 0.9: 9 / 255}


def test_erf_of_two_stacked_3x3_convs_is_the_5x5_tent():
    net = nn.Sequential(ones_conv(1, 1, 3), ones_conv(1, 1, 3))
    erf = erf_gradients(net, torch.randn(1, 1, 21, 21))[0].numpy()
    tent = np.array([1, 2, 3, 2, 1], dtype=float)
    expected = np.zeros((21, 21))
    expected[8:13, 8:13] = np.outer(tent, tent)
    np.testing.assert_array_equal(erf, expected)
    # sorted 9, 6x4, 4x4, 3x4, 2x8, 1x4 (sum 81): 16.2 needs 9+6+6 (3 px),
    # 40.5 needs 9+4*6+2*4 (7 px), 72.9 needs 9+24+16+12+6*2 (19 px)
    assert area_fractions(erf) == {0.2: 3 / 441, 0.5: 7 / 441, 0.9: 19 / 441}


def test_erf_pixel_and_argmax_target():
    conv = nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([2.0, -3.0]).view(2, 1, 1, 1))
    images = torch.ones(1, 1, 5, 5)
    # logits (2, -3): sum -> |2 - 3| = 1; argmax (class 0) -> 2
    total = erf_gradients(conv, images, pixel=(1, 3), target='sum')[0]
    assert total[1, 3] == 1 and total.sum() == 1
    best = erf_gradients(conv, images, pixel=(1, 3), target='argmax')[0]
    assert best[1, 3] == 2 and best.sum() == 2
    with pytest.raises(ValueError, match='outside'):
        erf_gradients(conv, images, pixel=(5, 0))
    with pytest.raises(ValueError, match='target'):
        erf_gradients(conv, images, target='max')


@MODELS.register_module(force=True)
class OneConvBackbone(nn.Module):
    """A backbone of one 3x3 conv with weights 1: its ERF is 3x3 exactly."""

    def __init__(self, channels: int = 2) -> None:
        super().__init__()
        self.conv = ones_conv(3, channels, 3)

    def forward(self, x):
        return (self.conv(x), )

    def init_weights(self):
        pass


def one_conv_segmentor(clip_cell=None, num_frames=None) -> nn.Module:
    """A segmentor whose ERF is known: one 3x3 conv of weights 1 and a 1x1
    head of weights 1 (a clip model with ``clip_cell`` or ``num_frames``)."""
    init_default_scope('mmseg')
    clip = clip_cell is not None or num_frames is not None
    model = MODELS.build(
        ConfigDict(
            type='ClipEncoderDecoder' if clip else 'EncoderDecoder',
            data_preprocessor=dict(
                type='ClipSegDataPreProcessor'
                if clip else 'SegDataPreProcessor',
                mean=MEAN,
                std=STD,
                bgr_to_rgb=True),
            backbone=dict(type='OneConvBackbone', channels=2),
            decode_head=dict(
                type='FCNHead',
                in_channels=2,
                channels=2,
                num_convs=0,
                concat_input=False,
                num_classes=3,
                dropout_ratio=0,
                align_corners=False),
            test_cfg=dict(mode='whole'),
            **(dict(clip_cell=clip_cell, num_frames=num_frames)
               if clip else {}))).eval()
    nn.init.ones_(model.decode_head.conv_seg.weight)
    return model


TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(240, 180), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def camvid_val(pipeline):
    init_default_scope('mmseg')
    return DATASETS.build(
        dict(
            type='CamVidDataset',
            data_root=SAMPLE,
            data_prefix=dict(
                img_path='img_dir/val', seg_map_path='ann_dir/val'),
            pipeline=pipeline))


def test_erf_through_a_segmentor_on_real_images():
    """A whole mmseg segmentor (data preprocessor, decode head, resize of the
    logits) on real CamVid val images, with the test pipeline's resize
    replaced by --shape: the ERF is the backbone conv's 3x3 window."""
    pipeline, to_video = erf_pipeline(TEST_PIPELINE, shape=(45, 61))
    assert to_video is None
    assert [s['type'] for s in pipeline
            ] == ['LoadImageFromFile', 'Resize', 'PackSegInputs']
    erf, count = erf_of_model(
        one_conv_segmentor(),
        camvid_val(pipeline),
        3,
        pixel=(20, 30),
        batch_size=2)
    assert count == 3 and erf.shape == (45, 61)
    support = np.argwhere(erf > 0)
    assert support.min(0).tolist() == [19, 29]
    assert support.max(0).tolist() == [21, 31]
    assert area_fractions(erf) == {0.2: 2 / 2745, 0.5: 5 / 2745, 0.9: 9 / 2745}


OPS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate')


def pan(num_frames: int, op: str = 'shift_x', magnitude=0.08) -> Policy:
    return Policy(
        ops=OPS,
        nodes=[[(0, op, magnitude if op != 'identity' else None)]],
        num_frames=num_frames)


def test_a_shift_policy_widens_the_erf_of_the_same_network():
    """The clip cell's frames are warped copies of the image, so one output
    pixel sees the image around several places: the ERF is the 3x3 window
    with the identity policy and several windows with a pan; the gradient
    flows through the cell to the image."""
    pipeline, _ = erf_pipeline(TEST_PIPELINE, shape=(48, 64))
    dataset = camvid_val(pipeline)
    areas = {}
    for op in ('identity', 'shift_x'):
        model = one_conv_segmentor(
            clip_cell=dict(
                type='ClipCell',
                num_frames=4,
                num_nodes=1,
                policy=pan(4, op).to_dict()))
        erf, _ = erf_of_model(model, dataset, 2)
        areas[op] = area_fractions(erf)
        if op == 'identity':
            assert area_fractions(erf) == {
                0.2: 2 / 3072,
                0.5: 5 / 3072,
                0.9: 9 / 3072
            }
    assert all(areas['shift_x'][s] > areas['identity'][s] for s in (0.5, 0.9))


def test_erf_renders_pipeline_clips_on_the_device():
    """A model fed ImageToVideo clips: erf.py drops the step and renders its
    policy differentiably, so the ERF equals that of the same network whose
    cell renders the same policy."""
    policy = pan(4).to_dict()
    pipeline, to_video = erf_pipeline(
        TEST_PIPELINE[:2] + [dict(type='ImageToVideo', policy=policy)] +
        TEST_PIPELINE[2:],
        shape=(48, 64))
    assert to_video['policy'] == policy
    assert 'ImageToVideo' not in [s['type'] for s in pipeline]
    dataset = camvid_val(pipeline)
    fed, _ = erf_of_model(
        one_conv_segmentor(num_frames=4), dataset, 2, to_video=to_video)
    cell = one_conv_segmentor(
        clip_cell=dict(
            type='ClipCell', num_frames=4, num_nodes=1, policy=policy))
    made, _ = erf_of_model(cell, dataset, 2)
    assert area_fraction(fed, 0.9) > 9 / 3072
    np.testing.assert_allclose(fed, made, rtol=1e-5, atol=1e-9)


# ---- FLOPs ----------------------------------------------------------------


def test_flops_of_one_conv_and_one_warp_by_hand():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    result = count_flops(conv, lambda: conv(torch.rand(1, 3, 32, 32)))
    # out (8, 32, 32) values, each 3 * 3 * 3 multiply-adds (bias not counted)
    assert result.flops == 8 * 32 * 32 * 27
    assert result.params == 8 * 27 + 8
    grouped = nn.Conv2d(8, 8, 3, padding=1, groups=4)
    assert count_flops(grouped, lambda: grouped(torch.rand(2, 8, 16, 16))
                       ).flops == 2 * 8 * 16 * 16 * 2 * 9

    class Warp(nn.Module):

        def forward(self, x):
            theta = torch.eye(2, 3).expand(x.shape[0], 2, 3)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            return F.grid_sample(x, grid, align_corners=False)

    warp = Warp()
    counted = count_flops(warp, lambda: warp(torch.rand(2, 3, 16, 16)))
    # bilinear: 4 multiply-adds per output value
    assert counted.by_operator == {'aten.grid_sampler_2d': 4 * 2 * 3 * 16 * 16}
    assert counted.flops == 4 * 2 * 3 * 16 * 16


def clip_segmentor(num_frames: int, temporal=None) -> dict:
    return dict(
        type='ClipEncoderDecoder',
        data_preprocessor=dict(
            type='ClipSegDataPreProcessor',
            mean=MEAN,
            std=STD,
            bgr_to_rgb=True),
        clip_cell=dict(
            type='ClipCell',
            num_frames=num_frames,
            num_nodes=1,
            policy=pan(num_frames).to_dict()),
        backbone=dict(
            type='VideoResNetV1c',
            num_segments=num_frames,
            temporal=temporal,
            depth=18,
            stem_channels=8,
            base_channels=8,
            norm_cfg=NORM),
        decode_head=dict(
            type='FCNHead',
            in_channels=64,
            in_index=3,
            channels=8,
            num_convs=1,
            num_classes=11,
            norm_cfg=NORM,
            dropout_ratio=0,
            align_corners=False))


@pytest.mark.parametrize('num_frames', [2, 4])
def test_flops_scale_with_the_frames(num_frames):
    """T frames cost T times the image twin's backbone and head; the cell
    adds its warps; GSF adds its own convs."""
    init_default_scope('mmseg')
    cfg = clip_segmentor(num_frames)
    twin_cfg = image_twin(cfg)
    image = torch.rand(1, 3, 64, 64)
    flops = {}
    for name, model_cfg in (('clip', cfg), ('twin', twin_cfg)):
        model = MODELS.build(ConfigDict(model_cfg)).eval()
        flops[name] = count_flops(model, lambda: model(image))
    clip, twin = flops['clip'].parts, flops['twin'].parts
    assert twin['clip cell'] == 0 and twin['backbone'] > 0
    assert clip['backbone'] == num_frames * twin['backbone']
    assert clip['heads and fusion'] == num_frames * twin['heads and fusion']
    assert clip['clip cell'] > 0 and clip['temporal modules'] == 0
    gsf = MODELS.build(
        ConfigDict(clip_segmentor(num_frames, dict(type='GSF')))).eval()
    parts = count_flops(gsf, lambda: gsf(image)).parts
    assert parts['temporal modules'] > 0
    assert parts['backbone'] == clip['backbone']


def test_image_twin_removes_cell_frames_and_temporal_modules():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'das_demo.py'))
    twin = image_twin(cfg.model)
    assert twin.clip_cell is None and twin.num_frames == 1
    assert twin.backbone.temporal is None
    assert twin.backbone.num_segments == 1
    assert twin.decode_head == cfg.model.decode_head
    assert image_twin(twin) is None  # already an image model
    assert image_twin(dict(type='EncoderDecoder')) is None
    # a video backbone relying on its default temporal module
    implicit = dict(cfg.model)
    implicit['backbone'] = {
        k: v
        for k, v in cfg.model.backbone.items() if k != 'temporal'
    }
    assert image_twin(implicit).backbone.temporal is None
    # the warped objective needs a cell: the twin compares with the labels
    warped = image_twin(dict(cfg.model, loss_target='warped'))
    assert warped.loss_target == 'reference'
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    assert MODELS.build(warped).loss_target == 'reference'


# ---- confusion matrix ------------------------------------------------------


def test_confusion_matrix_iou_by_hand():
    matrix = np.zeros((3, 3), dtype=np.int64)
    label = np.array([[0, 0, 1], [1, 2, 255]])
    pred = np.array([[0, 1, 1], [1, 2, 0]])
    accumulate(matrix, label, pred, ignore_index=255)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    # class 0: TP 1, FP 0, FN 1; class 1: TP 2, FP 1; class 2: TP 1
    np.testing.assert_allclose(iou_per_class(matrix), [1 / 2, 2 / 3, 1])
    with pytest.raises(ValueError, match='original'):
        accumulate(matrix, label, pred[:, :2], 255)
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        accumulate(matrix, label, pred + 1, 255)
