"""``ImageToVideo``: layout, composition with mmseg's pipeline, frame affines,
seeded per-frame jitter."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fixtures import SAMPLE
from mmcv.transforms import Compose
from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS
from mmseg.registry import TRANSFORMS

import das_mmseg  # noqa: F401
from das_mmseg.augment import Policy, PolicyError
from das_mmseg.datasets.transforms import ImageToVideo

NAME = '0001TP_006690'
OPS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate', 'brightness')
# pans of whole pixels in sequence (12 px right, then 9 px down per frame
# step on the 240x180 image): each frame is exactly one warp of the image
CHAIN = dict(
    version=2,
    ops=list(OPS),
    num_frames=4,
    progression='signed',
    nodes=[[dict(source=0, op='shift_x', magnitude=0.05)],
           [dict(source=2, op='shift_y', magnitude=0.05)]])
BLEND = dict(
    CHAIN,
    nodes=[[
        dict(source=0, op='shift_x', magnitude=0.05),
        dict(source=1, op='rotate', magnitude=8.0)
    ]])


def build(transforms) -> Compose:
    # mmseg's registry: its LoadAnnotations
    return Compose([TRANSFORMS.build(t) for t in transforms])


def load():
    return build(
        [dict(type='LoadImageFromFile'),
         dict(type='LoadAnnotations')])(
             dict(
                 img_path=osp.join(SAMPLE, 'img_dir/train', NAME + '.jpg'),
                 seg_map_path=osp.join(SAMPLE, 'ann_dir/train', NAME + '.png'),
                 reduce_zero_label=False,
                 seg_fields=[]))


def test_layout_is_frame_major_and_the_reference_is_the_image():
    results = load()
    image, seg = results['img'].copy(), results['gt_seg_map'].copy()
    out = TRANSFORMS.build(dict(type='ImageToVideo', policy=CHAIN))(results)
    h, w = image.shape[:2]
    assert out['img'].shape == (h, w, 12) and out['img'].dtype == np.uint8
    assert out['num_frames'] == 4 and out['ref_frame'] == 2
    assert np.array_equal(out['img'][..., 6:9], image)
    assert np.array_equal(out['gt_seg_map'], seg)
    frames = [out['img'][..., 3 * t:3 * t + 3] for t in range(4)]
    assert all(
        np.abs(f.astype(int) - image).mean() > 5 for t, f in enumerate(frames)
        if t != 2)


def test_frame_affines_replay_the_frames():
    results = load()
    image = results['img'].copy()
    out = ImageToVideo(CHAIN)(results)
    affines = out['frame_affines']
    assert affines.shape == (4, 2, 3) and affines.dtype == np.float32
    assert np.array_equal(affines[2], np.eye(3, dtype=np.float32)[:2])
    # the chain of pans is one warp: F.affine_grid with the affines
    # reproduces every frame
    src = torch.from_numpy(image).permute(2, 0,
                                          1).float().expand(4, -1, -1, -1)
    grid = F.affine_grid(
        torch.from_numpy(affines), list(src.shape), align_corners=False)
    replay = F.grid_sample(
        src, grid,
        align_corners=False).round().permute(2, 3, 0,
                                             1).reshape(*image.shape[:2], 12)
    assert np.abs(replay.numpy() - out['img']).max() <= 1
    # a blend of two warps is no single warp
    assert ImageToVideo(BLEND)(load())['frame_affines'] is None


def test_composes_with_mmseg_transforms_and_packing():
    pipeline = build([
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(
            type='RandomResize',
            scale=(240, 180),
            ratio_range=(0.5, 1.0),
            keep_ratio=True),
        dict(type='RandomCrop', crop_size=(64, 96)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='ImageToVideo', policy=CHAIN),
        dict(
            type='PackSegInputs',
            meta_keys=('img_path', 'img_shape', 'num_frames', 'ref_frame',
                       'frame_affines'))
    ])
    np.random.seed(0)
    packed = pipeline(
        dict(
            img_path=osp.join(SAMPLE, 'img_dir/train', NAME + '.jpg'),
            seg_map_path=osp.join(SAMPLE, 'ann_dir/train', NAME + '.png'),
            reduce_zero_label=False,
            seg_fields=[]))
    assert packed['inputs'].shape == (12, 64, 96)
    sample = packed['data_samples']
    assert sample.gt_sem_seg.data.shape == (1, 64, 96)
    assert (sample.num_frames == 4 and sample.ref_frame == 2
            and sample.frame_affines.shape == (4, 2, 3))


def test_jitter_is_seeded_and_spares_the_reference_frame():
    transform = ImageToVideo(
        CHAIN, frame_jitter=dict(brightness=0.3, contrast=0.2))
    np.random.seed(3)
    first = transform(load())['img']
    np.random.seed(3)
    again = transform(load())['img']
    np.random.seed(4)
    other = transform(load())['img']
    plain = ImageToVideo(CHAIN)(load())['img']
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.array_equal(first[..., 6:9], plain[..., 6:9])
    assert not np.array_equal(first[..., :3], plain[..., :3])
    with pytest.raises(
            ValueError,
            match="frame_jitter takes photometric ops; 'zoom' is geometric"):
        ImageToVideo(CHAIN, frame_jitter=dict(zoom=0.1))


def test_single_frame_policy_returns_the_image(tmp_path):
    path = str(tmp_path / 'one.json')
    Policy.from_dict(dict(CHAIN, num_frames=1)).save(path)
    results = load()
    image = results['img'].copy()
    out = ImageToVideo(path)(results)
    assert np.array_equal(
        out['img'], image) and out['num_frames'] == 1 and out['ref_frame'] == 0


def test_float_images_and_registries():
    results = load()
    results['img'] = results['img'].astype(np.float32)
    out = MMPRETRAIN_TRANSFORMS.build(
        dict(type='ImageToVideo', policy=CHAIN, padding_mode='border'))(
            results)
    assert out['img'].dtype == np.float32 and out['img'].shape[-1] == 12
    assert MMPRETRAIN_TRANSFORMS.get('ImageToVideo') is TRANSFORMS.get(
        'ImageToVideo')
    with pytest.raises(
            ValueError,
            match=(r"padding_mode must be one of \('zeros', 'border', "
                   r"'reflection'\)")):
        ImageToVideo(CHAIN, padding_mode='wrap')


@pytest.mark.parametrize('img,error,match', [
    (np.zeros((0, 40, 3), np.uint8), ValueError,
     r"ImageToVideo: the image of 'x.jpg' has shape \(0, 40, 3\); expected "
     r'\(H, W\) or \(H, W, C\) with every size >= 1'),
    (np.zeros(
        (30, 40, 3, 2), np.uint8), ValueError, r'has shape \(30, 40, 3, 2\)'),
    (np.zeros((30, 40, 3), np.int32), TypeError,
     r'has dtype int32; expected uint8 or floating point'),
    (np.full((30, 40, 3), np.nan,
             np.float32), ValueError, r'holds NaN or infinite pixel values'),
    ([[0, 1]], TypeError, r'must be a numpy array \(H, W\[, C\]\), got list'),
])
def test_bad_images_name_the_file(img, error, match):
    with pytest.raises(error, match=match):
        ImageToVideo(CHAIN)(dict(img=img, img_path='x.jpg'))


def test_bad_settings_and_absurd_clips_are_refused():
    with pytest.raises(
            PolicyError,
            match=(r'ImageToVideo\(policy=...\): unsupported policy version '
                   r'3')):
        ImageToVideo(dict(CHAIN, version=3))
    with pytest.raises(PolicyError, match=r'ImageToVideo.*cannot read'):
        ImageToVideo('/nonexistent/policy.json')
    with pytest.raises(
            ValueError,
            match=r"frame_jitter\['brightness'\] must be a finite"
            r' number >= 0, got nan'):
        ImageToVideo(CHAIN, frame_jitter=dict(brightness=float('nan')))
    with pytest.raises(ValueError, match='frame_jitter must be a dict'):
        ImageToVideo(CHAIN, frame_jitter=['brightness'])
    with pytest.raises(
            ValueError,
            match=r'max_clip_elements must be an integer >= 1, got 0'):
        ImageToVideo(CHAIN, max_clip_elements=0)
    with pytest.raises(
            ValueError,
            match=(r'ImageToVideo: a clip of shape \(1, 4, 3, 180, 240\) '
                   r'\(N, T, C, H, W\) has 518,400 elements, more than the '
                   r'limit of 100,000')):
        ImageToVideo(CHAIN, max_clip_elements=100000)(load())
