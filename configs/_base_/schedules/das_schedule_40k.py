# The DAS twin of mmseg's schedule_40k.py: the search of ../das_search.py,
# then 40k iterations of training with the derived policy, evaluated and
# saved every 4k. Weights: the paper's segmentation optimizer (SGD lr 0.02,
# momentum 0.9, weight decay 1e-4, poly decay) with gradients clipped at norm 5
# (authors' code: exp_scripts/config.json "grad_clip": 5, applied in
# sota/segmentation/model_search.py). Fine-tuning configs add the backbone's
# lr x 0.1 (paramwise_cfg). The search length (train_cfg.search_iters) is the
# config's.
_base_ = ['../das_search.py']
max_iters = 40000
interval = 4000
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = dict(model=[
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
])
train_cfg = dict(
    type='DASIterBasedTrainLoop', max_iters=max_iters, val_interval=interval)
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
