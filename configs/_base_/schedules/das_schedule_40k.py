# The DAS paper's twin of mmseg's schedule_40k.py: 40k iterations of
# training, evaluated and saved every 4k, with the paper's segmentation
# optimizer (SGD lr 0.02, momentum 0.9, weight decay 1e-4, poly decay) and
# gradients clipped at norm 5 (authors' code: exp_scripts/config.json
# "grad_clip": 5, applied in sota/segmentation/model_search.py). Fine-tuning
# configs add the backbone's lr x 0.1 (paramwise_cfg). No search: a DAS
# config lists a search base beside it (../search/das_first_order.py), which
# runs the search before these iterations and sets its length.
max_iters = 40000
interval = 4000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CrashSafeCheckpointHook', by_epoch=False, interval=interval),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
