# The image baseline of the demo,
# das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py: the same
# tiny PSPNet (mmseg's pspnet_r50-d8.py shrunk to a 16-channel ResNetV1c-18,
# EncoderDecoder), data and schedule, trained from scratch on all 48 sample
# images; no clip, no temporal module, no search.
#   python tools/train.py CONFIG --work-dir work_dirs/demo_baseline
_base_ = [
    '../_base_/models/pspnet_r18_tiny.py',
    '../_base_/datasets/camvid_sample_96x96.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
crop_size = (96, 96)  # the data piece's
max_iters = 300
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
optimizer = dict(lr=0.02, weight_decay=1e-4)
optim_wrapper = dict(
    optimizer=optimizer,
    clip_grad=dict(_delete_=True, max_norm=5, norm_type=2))  # base: None
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(type='CrashSafeCheckpointHook', interval=max_iters))
randomness = dict(seed=0)
