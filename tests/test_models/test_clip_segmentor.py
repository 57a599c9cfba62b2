"""ClipEncoderDecoder and ClipSegDataPreProcessor on real CamVid images:
equality with the 2-D model at T = 1, clips from the pipeline, slide inference
on clips, stock heads, and a real Runner with IoUMetric and TTA."""
import copy
import os.path as osp

import pytest
import torch
from fixtures import (MEAN, NUM_CLASSES, ROOT, STD, backbone_cfg, build,
                      camvid_val_pair, cell_cfg, losses_of, segmentor_cfg,
                      shift_policy)
from mmengine.config import Config
from mmseg.models.utils import resize
from mmseg.registry import MODELS

import das_mmseg  # noqa: F401
from das_mmseg.models.fusion import fuse_aligned


def to_clip_batch(batch: dict, frames) -> dict:
    """The batch with every image replaced by a packed clip ``(T*C, H, W)`` of
    ``frames(image) -> [T images]``."""
    clip = copy.deepcopy(batch)
    clip['inputs'] = [torch.cat(frames(img), 0) for img in batch['inputs']]
    return clip


def logits_of(model, data: dict) -> torch.Tensor:
    processed = model.data_preprocessor(copy.deepcopy(data), training=False)
    return torch.stack([
        s.seg_logits.data
        for s in model.predict(processed['inputs'], processed['data_samples'])
    ])


@pytest.mark.parametrize('fusion',
                         ['logits', 'features', 'aligned', 'reference'])
def test_at_one_frame_every_fusion_equals_the_2d_model(batch, fusion):
    clip_model = build(segmentor_cfg(fusion=fusion, aux=True))
    plain = build(segmentor_cfg(clip=False, aux=True), seed=1)
    plain.load_state_dict(clip_model.state_dict())
    clip_losses = losses_of(clip_model.train(), batch)
    plain_losses = losses_of(plain.train(), batch)
    assert set(clip_losses) == set(plain_losses) >= {
        'decode.loss_ce', 'aux.loss_ce'
    }
    for key in plain_losses:
        torch.testing.assert_close(
            clip_losses[key], plain_losses[key], atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(
            logits_of(clip_model.eval(), batch),
            logits_of(plain.eval(), batch),
            atol=1e-5,
            rtol=1e-5)


@pytest.mark.parametrize('fusion',
                         ['logits', 'features', 'aligned', 'reference'])
def test_pipeline_clips_of_copies_equal_the_2d_model(batch, fusion):
    """A clip whose frames are all the image (identity affines) fuses to the
    2-D prediction, through the clip preprocessor, in tensor mode and in whole
    and slide inference (slide crops the frames of a 5-D clip alike)."""
    num_frames = 3
    clips = to_clip_batch(batch, lambda img: [img] * num_frames)
    for sample in clips['data_samples']:
        affines = torch.eye(2, 3).expand(num_frames, 2, 3).numpy()
        sample.set_metainfo(dict(frame_affines=affines))
    clip_model = build(segmentor_cfg(fusion=fusion,
                                     num_frames=num_frames)).eval()
    plain = build(segmentor_cfg(clip=False), seed=1).eval()
    plain.load_state_dict(clip_model.state_dict())
    assert clip_model.data_preprocessor(
        copy.deepcopy(clips))['inputs'].shape == (2, num_frames, 3, 64, 80)
    with torch.no_grad():
        tensors = [
            m(**m.data_preprocessor(copy.deepcopy(b)), mode='tensor')
            for m, b in ((clip_model, clips), (plain, batch))
        ]
        torch.testing.assert_close(
            *[resize(t, size=(64, 80), mode='bilinear') for t in tensors],
            atol=1e-5,
            rtol=1e-5)
        for mode in (dict(mode='whole'),
                     dict(mode='slide', crop_size=(48, 48), stride=(32, 32))):
            clip_model.test_cfg, plain.test_cfg = Config(mode), Config(mode)
            torch.testing.assert_close(
                logits_of(clip_model, clips),
                logits_of(plain, batch),
                atol=1e-5,
                rtol=1e-5)


@pytest.mark.parametrize('num_frames,fusion', [(1, 'aligned'), (4, 'features'),
                                               (4, 'aligned'), (8, 'logits')])
def test_video_backbone_shapes_and_gradients(batch, num_frames, fusion):
    """The GSF video backbone on T frames of shifted copies: fused outputs of
    the image's shape, finite losses, gradients to every parameter."""
    model = build(
        segmentor_cfg(fusion=fusion, num_frames=num_frames,
                      video=True)).train()
    shifts = [t - num_frames // 2 for t in range(num_frames)]
    clips = to_clip_batch(
        batch, lambda img: [img.roll(2 * s, dims=-1) for s in shifts])
    for sample in clips['data_samples']:
        theta = torch.eye(2, 3).repeat(num_frames, 1, 1)
        theta[:, 0, 2] = torch.tensor([-2 * 2. * s / 80 for s in shifts])
        sample.set_metainfo(dict(frame_affines=theta.numpy()))
    losses = losses_of(model, clips)
    assert torch.isfinite(losses['decode.loss_ce'])
    losses['decode.loss_ce'].backward()
    # With T = 1 the temporal modules pass features through (the 2-D network),
    # so they get no gradient.
    trained = [
        p for n, p in model.named_parameters()
        if num_frames > 1 or '.temporal.' not in n
    ]
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all() for p in trained)
    assert model.backbone.num_segments == num_frames
    with torch.no_grad():
        # postprocessed to the original size
        assert logits_of(model.eval(),
                         clips).shape == (2, NUM_CLASSES, 180, 240)


@pytest.mark.parametrize('head,fusion',
                         [('PSPHead', 'logits'),
                          ('DepthwiseSeparableASPPHead', 'features'),
                          ('DepthwiseSeparableASPPHead', 'aligned')])
def test_stock_heads_train_and_predict_on_clips(batch, head, fusion):
    model = build(
        segmentor_cfg(fusion=fusion, num_frames=2, video=True,
                      head=head)).train()
    clips = to_clip_batch(batch, lambda img: [img, img.roll(4, dims=-1)])
    for sample in clips['data_samples']:
        sample.set_metainfo(
            dict(
                frame_affines=torch.tensor([[[1, 0, 0], [0, 1, 0]],
                                            [[1, 0, -0.1], [0, 1, 0]]])))
    loss = losses_of(model, clips)['decode.loss_ce']
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.decode_head.parameters())
    with torch.no_grad():
        # postprocessed to the original size
        assert logits_of(model.eval(),
                         clips).shape == (2, NUM_CLASSES, 180, 240)


def test_aligned_fusion_needs_affines(batch):
    model = build(segmentor_cfg(fusion='aligned', num_frames=2)).eval()
    clips = to_clip_batch(batch, lambda img: [img, img])
    with pytest.raises(ValueError, match="'frame_affines' metainfo"):
        logits_of(model, clips)


def test_clip_preprocessor_normalises_every_frame_and_pads_alike(batch):
    """Per frame the clip preprocessor equals SegDataPreProcessor on that
    frame; labels and padding metainfo are those of the image; plain images
    pass through as with SegDataPreProcessor."""
    pre = dict(
        mean=MEAN,
        std=STD,
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(72, 96))
    clip_pre = MODELS.build(dict(type='ClipSegDataPreProcessor', **pre))
    image_pre = MODELS.build(dict(type='SegDataPreProcessor', **pre))

    def frames(img):
        return [img, img.flip(-1), img.roll(5, dims=-2)]

    clips = clip_pre(to_clip_batch(batch, frames), training=True)
    assert clips['inputs'].shape == (2, 3, 3, 72, 96)
    for t in range(3):
        frame_batch = copy.deepcopy(batch)
        frame_batch['inputs'] = [frames(img)[t] for img in batch['inputs']]
        expected = image_pre(frame_batch, training=True)
        torch.testing.assert_close(clips['inputs'][:, t], expected['inputs'])
    for clip_sample, image_sample in zip(clips['data_samples'],
                                         expected['data_samples']):
        torch.testing.assert_close(clip_sample.gt_sem_seg.data,
                                   image_sample.gt_sem_seg.data)
        assert clip_sample.metainfo['padding_size'] == image_sample.metainfo[
            'padding_size']
    images = clip_pre(copy.deepcopy(batch), training=False)['inputs']
    torch.testing.assert_close(
        images,
        image_pre(copy.deepcopy(batch), training=False)['inputs'])
    bad = copy.deepcopy(batch)
    bad['inputs'] = [img[:2] for img in bad['inputs']]
    with pytest.raises(
            ValueError, match='2 channels is neither an image nor a clip'):
        clip_pre(bad)


def runner_cfg(work_dir: str, model: dict) -> Config:
    """A tiny IterBasedTrainLoop on the CamVid sample: 64x64 crops, 4
    iterations, mIoU on 2 validation images."""
    base = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/datasets/camvid_sample.py'))
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(
            type='RandomResize',
            scale=(120, 90),
            ratio_range=(0.75, 1.25),
            keep_ratio=True),
        dict(type='RandomCrop', crop_size=(64, 64)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs')
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(96, 72), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    data_root = osp.join(ROOT, 'data/camvid_sample')
    loader = lambda split, pipeline, **kw: dict(  # noqa: E731
        batch_size=2,
        num_workers=0,
        dataset=dict(
            type='CamVidDataset',
            data_root=data_root,
            pipeline=pipeline,
            data_prefix=dict(
                img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
            **kw),
        **(dict(sampler=dict(type='InfiniteSampler', shuffle=True))
           if split == 'train' else dict(
               sampler=dict(type='DefaultSampler', shuffle=False))))
    tta_pipeline = copy.deepcopy(base.tta_pipeline)
    tta_pipeline[1]['transforms'][0] = [
        dict(type='Resize', scale_factor=r, keep_ratio=True)
        for r in (0.3, 0.4)
    ]
    return Config(
        dict(
            default_scope='mmseg',
            work_dir=work_dir,
            model=model,
            randomness=dict(seed=0),
            train_dataloader=loader('train', train_pipeline),
            val_dataloader=loader('val', test_pipeline, indices=2),
            test_dataloader=loader('val', test_pipeline, indices=2),
            val_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
            test_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
            optim_wrapper=dict(
                type='OptimWrapper',
                optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
            train_cfg=dict(
                type='IterBasedTrainLoop', max_iters=4, val_interval=4),
            val_cfg=dict(type='ValLoop'),
            test_cfg=dict(type='TestLoop'),
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=2),
                checkpoint=dict(
                    type='CheckpointHook', by_epoch=False, interval=4)),
            tta_model=dict(type='SegTTAModel'),
            tta_pipeline=tta_pipeline,
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            log_level='WARNING'))


@pytest.mark.slow
def test_runner_trains_and_evaluates_miou_then_tests_with_tta(tmp_path):
    """IterBasedTrainLoop + IoUMetric on real images; then the test loop with
    SegTTAModel (flip and two scales), the model swap ``tools/test.py --tta``
    makes, from the saved checkpoint."""
    from mmengine.runner import Runner
    model = segmentor_cfg(fusion='logits', num_frames=2, video=True, aux=True)
    cfg = runner_cfg(str(tmp_path), model)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    metrics = runner.val_loop.run()
    assert 0 <= metrics['mIoU'] <= 100
    tta = copy.deepcopy(cfg)
    tta.test_dataloader.dataset.pipeline = tta.tta_pipeline
    tta.tta_model.module = tta.model
    tta.model = tta.tta_model
    tta.load_from = str(tmp_path / 'iter_4.pth')
    tta.work_dir = str(tmp_path / 'tta')
    tta_metrics = Runner.from_cfg(tta).test()
    assert 0 <= tta_metrics['mIoU'] <= 100


@pytest.mark.parametrize('fusion',
                         ['logits', 'features', 'aligned', 'reference'])
def test_clip_cell_in_front_gives_finite_nonzero_gradients_to_alpha(
        batch, fusion):
    """Relaxed cell (for 'aligned': its discrete policy, whose α is not used,
    so only the weights are checked)."""
    policy = shift_policy(4) if fusion == 'aligned' else None
    model = build(
        segmentor_cfg(
            fusion=fusion, video=True, clip_cell=cell_cfg(4, policy))).train()
    assert model.num_frames == 4
    cell = model.clip_cell
    # the weight loss alone does not reach α
    assert not any(p.requires_grad for p in cell.arch_parameters())
    with cell.arch_grad():
        loss = losses_of(model, batch)['decode.loss_ce']
        loss.backward()
        if policy is None:
            for param in cell.arch_parameters():
                assert param.grad is not None and torch.isfinite(
                    param.grad).all() and param.grad.abs().sum() > 0
    assert model.backbone.num_segments == 4
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all()
        for p in model.decode_head.parameters())


def test_aligned_fusion_undoes_the_cell_pans_and_needs_a_discrete_policy(
        batch):
    """The cell's frames and affines, fused back by 'aligned' fusion, give the
    image: the cell's affine convention and the fusion's agree. The relaxed
    mixture has no affines: a clear error."""
    model = build(
        segmentor_cfg(
            fusion='aligned', clip_cell=cell_cfg(5, shift_policy(5))))
    images = model.data_preprocessor(copy.deepcopy(batch))['inputs']
    metas = [sample.metainfo for sample in batch['data_samples']]
    clip, affines, valid = model.make_clip(images, metas)
    assert clip.shape == (2, 5, 3, 64, 80) and affines.shape == (2, 5, 2, 3)
    assert (clip.mean(1) - images).abs().max() > 1
    torch.testing.assert_close(
        fuse_aligned(clip, affines, valid), images, atol=1e-4, rtol=0)
    model.clip_cell.set_policy(None)
    with pytest.raises(ValueError, match='not single warps'):
        model.make_clip(images, metas)


def test_image_to_video_clips_are_fused_back_through_preprocessor_padding(
        batch):
    """ImageToVideo in the pipeline, padding by the clip preprocessor
    (64x80 -> 64x96): the metainfo affines, re-expressed for the padded clip,
    with the padding masked, undo the pans exactly."""
    clips = camvid_val_pair(
        dict(type='ImageToVideo', policy=shift_policy(3)),
        pack=dict(
            meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                       'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                       'reduce_zero_label', 'num_frames', 'ref_frame',
                       'frame_affines')))
    cfg = segmentor_cfg(fusion='aligned', num_frames=3)
    cfg['data_preprocessor'].update(size_divisor=32)
    model = build(cfg).eval()
    processed = model.data_preprocessor(copy.deepcopy(clips), training=True)
    images = model.data_preprocessor(
        copy.deepcopy(batch), training=True)['inputs']
    assert processed['inputs'].shape == (2, 3, 3, 64, 96)
    metas = [sample.metainfo for sample in processed['data_samples']]
    clip, affines, valid = model.make_clip(processed['inputs'], metas)
    torch.testing.assert_close(
        fuse_aligned(clip, affines, valid)[..., :80],
        images[..., :80],
        atol=1e-4,
        rtol=0)
    with torch.no_grad():
        assert logits_of(model, clips).shape == (2, NUM_CLASSES, 180, 240)


def test_config_errors_name_the_bad_value():
    with pytest.raises(
            ValueError,
            match=("fusion must be one of \\('logits', 'features', 'aligned', "
                   "'reference'\\), got 'max'")):
        build(segmentor_cfg(fusion='max'))
    with pytest.raises(
            ValueError,
            match=('T is stated twice with different values: num_frames=2 '
                   'and clip_cell.num_frames=4. State it once')):
        build(segmentor_cfg(num_frames=2, clip_cell=cell_cfg(4)))
    with pytest.raises(
            ValueError, match='num_frames must be an integer >= 1, got 0'):
        build(segmentor_cfg(num_frames=0))


def test_t_stated_twice_with_different_values_names_both_and_the_fix():
    """T has one owner, the segmentor: a config that also states it in the
    cell or the backbone builds when the values agree, and fails at build
    naming both values and the fix when they do not."""
    video = dict(backbone_cfg(video=True), num_segments=4)
    for cfg, first, second in [
        (segmentor_cfg(num_frames=2, backbone=video), 'num_frames=2',
         'backbone.num_segments=4'),
        (segmentor_cfg(clip_cell=cell_cfg(3), backbone=video),
         'clip_cell.num_frames=3', 'backbone.num_segments=4'),
    ]:
        with pytest.raises(ValueError) as error:
            build(cfg)
        message = str(error.value)
        assert message.startswith('T is stated twice with different values: '
                                  f'{first} and {second}. State it once, as '
                                  "the model's num_frames")
    model = build(
        segmentor_cfg(num_frames=4, clip_cell=cell_cfg(4), backbone=video))
    assert model.num_frames == model.clip_cell.num_frames == 4
    assert model.backbone.num_segments == 4


def test_t_is_filled_into_the_cell_and_the_backbone_at_build():
    """The segmentor's num_frames reaches the cell and every temporal module
    when it is built (the config itself is left as it is); a configured
    num_segments is honoured, not overwritten by the default T = 1."""
    cell = dict(type='ClipCell', num_nodes=1)  # no num_frames of its own
    cfg = segmentor_cfg(num_frames=3, video=True, clip_cell=cell)
    model = build(cfg)
    assert model.clip_cell.num_frames == 3
    assert model.backbone.num_segments == 3
    modules = model.backbone.temporal_modules()
    assert modules and all(m.num_segments == 3 for m in modules)
    assert 'num_segments' not in cfg['backbone'] and 'num_frames' not in cell
    # stated by the backbone alone: T = 3, images repeated three times
    model = build(
        segmentor_cfg(backbone=dict(backbone_cfg(video=True), num_segments=3)))
    assert model.num_frames == 3
    clip = model.make_clip(torch.zeros(2, 3, 32, 32), [{}, {}])[0]
    assert clip.shape == (2, 3, 3, 32, 32)


def test_no_forward_changes_t(batch, monkeypatch):
    """T is fixed when the model is built: training and inference passes
    leave every temporal module's num_segments alone."""
    from das_mmseg.models import TemporalModule
    model = build(
        segmentor_cfg(num_frames=2, video=True, clip_cell=cell_cfg(2)))
    changed = []

    def record(module, value):
        changed.append(value)
        module._num_segments = value

    monkeypatch.setattr(TemporalModule, 'num_segments',
                        property(lambda module: module._num_segments, record))
    losses_of(model.train(), batch)
    with torch.no_grad():
        logits_of(model.eval(), batch)
    assert changed == []


def test_a_clip_of_another_length_needs_a_backbone_without_temporal_modules():
    """Clips from the pipeline of another length than T: a 2-D backbone reads
    the frames independently (as it always has); temporal modules built for
    T refuse them with a clear error instead of mixing frames of different
    clips."""
    clips = torch.zeros(2, 3, 3, 32, 32)
    plain = build(segmentor_cfg())  # T = 1
    assert plain.extract_feat(clips)[-1].shape[0] == 6
    video = build(segmentor_cfg(num_frames=2, video=True))
    with pytest.raises(
            ValueError,
            match=r'a clip of 3 frames reached a backbone whose temporal '
            r'modules were built for T = 2'):
        video.extract_feat(clips)


def test_the_clip_preprocessor_is_set_up_once_and_equals_mmseg_bit_for_bit(
        batch, monkeypatch):
    """The clip preprocessor converts and normalises every frame itself,
    arranged when it is built: no forward writes an attribute (it used to
    switch its host's conversion and normalisation off and on around every
    clip batch), and images come out bit for bit as from mmseg's
    SegDataPreProcessor."""
    cfg = segmentor_cfg()['data_preprocessor']
    clip_pre = MODELS.build(cfg)
    image_pre = MODELS.build(dict(cfg, type='SegDataPreProcessor'))
    assert clip_pre.frame_conversion and clip_pre.frame_normalisation
    written = []
    module_setattr = type(clip_pre).__setattr__

    def record(module, name, value):
        written.append(name)
        module_setattr(module, name, value)

    monkeypatch.setattr(type(clip_pre), '__setattr__', record)
    for training in (True, False):
        images = clip_pre(copy.deepcopy(batch), training)['inputs']
        assert torch.equal(images,
                           image_pre(copy.deepcopy(batch), training)['inputs'])
    clips = clip_pre(to_clip_batch(batch, lambda img: [img, img]), True)
    assert clips['inputs'].shape[1] == 2
    assert torch.equal(clips['inputs'][:, 1], images)
    assert written == []


def test_the_cell_takes_its_normalisation_from_the_data_preprocessor():
    """Configs write mean/std once (in the preprocessor); a cell value that
    contradicts it is an error."""
    cell = dict(type='ClipCell', num_frames=2, num_nodes=1)
    model = build(segmentor_cfg(clip_cell=cell))
    space = model.clip_cell.space
    assert space.mean == pytest.approx(MEAN) and space.std == pytest.approx(
        STD) and space.channel_order == 'rgb'
    # no conversion: the source's order, which the cell config says
    cfg = segmentor_cfg(clip_cell=dict(cell, channel_order='bgr'))
    cfg['data_preprocessor'].update(bgr_to_rgb=False)
    assert build(cfg).clip_cell.space.channel_order == 'bgr'
    # the same values written twice are fine
    same = dict(cell, mean=MEAN, std=STD, channel_order='rgb')
    given = build(segmentor_cfg(clip_cell=same)).clip_cell.space
    assert given.mean == pytest.approx(
        space.mean) and given.std == (pytest.approx(
            space.std)) and given.channel_order == 'rgb'
    # no normalisation in the preprocessor: pixels
    cfg = segmentor_cfg(clip_cell=cell)
    cfg['data_preprocessor'].update(mean=None, std=None)
    assert build(cfg).clip_cell.space.mean is None
    for key, value, match in [
        ('mean', [0, 0, 0], r'clip_cell.mean=\[0, 0, 0\] contradicts the data '
         r'preprocessor \(ClipSegDataPreProcessor\), whose images have '
         r'mean=\[123.675'),
        ('std', [1, 1, 1], r'clip_cell.std=\[1, 1, 1\] contradicts'),
        ('channel_order', 'bgr',
         r"clip_cell.channel_order='bgr' contradicts .*'rgb'"),
    ]:
        with pytest.raises(ValueError, match=match):
            build(segmentor_cfg(clip_cell=dict(cell, **{key: value})))
