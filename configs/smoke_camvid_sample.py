# Smoke run of the stack: the tiny FCN on the bundled CamVid sample, 40
# iterations, evaluation with IoUMetric. CPU: about a minute on 2 cores. python
# tools/train.py configs/smoke_camvid_sample.py
_base_ = [
    './_base_/models/fcn_r18_tiny.py', './_base_/datasets/camvid_sample.py',
    './_base_/default_runtime.py'
]
crop_size = (
    128, 128
)  # as in the dataset base: the preprocessor pads training batches to it
model = dict(
    data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=11))

optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=40,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40, val_interval=40)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CrashSafeCheckpointHook', by_epoch=False, interval=20),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
