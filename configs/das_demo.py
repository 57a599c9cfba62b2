# The bundled demo: the whole DAS method on the real CamVid sample in
# data/camvid_sample, on a CPU in minutes.
#   python tools/train.py configs/das_demo.py --work-dir work_dirs/demo
#   (or: make demo)
# 1. search: the clip cell's relaxed policy (α, magnitudes) is trained on half
#    of the 48 training images, one α step per weight step on the other half
#    (DASSearchHook, first-order DARTS);
# 2. the discrete policy is derived and written to <work_dir>/das_policy.json,
#    with das_alpha.png (softmax(α) over the search) and das_clip.png (the clip
#    the policy makes of a training image);
# 3. training goes on with the derived policy; 4. mIoU on the 16 val images.
# The model is the tiny GSF-ResNet-18 PSPNet with T = 4 frames; crops 96x96,
# batch 4; 30 search + 270 training iterations. About 1 minute on 2 idle cores;
# several times longer on a loaded machine.
_base_ = [
    './_base_/models/das_pspnet_gsf_r18_tiny.py',
    './_base_/datasets/camvid_sample.py', './_base_/default_runtime.py'
]
crop_size = (96, 96)
search_iters = 30
max_iters = 300
model = dict(data_preprocessor=dict(size=crop_size))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(240, 180),
        ratio_range=(0.5, 1.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
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
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [
    dict(
        type='DASSearchHook',
        mode='search_and_train',
        search_iters=search_iters,
        interval=1,
        policy_portion=0.5,
        optimizer=dict(
            type='Adam', lr=3e-3, betas=(0.5, 0.999), weight_decay=1e-3),
        log_interval=5)
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
