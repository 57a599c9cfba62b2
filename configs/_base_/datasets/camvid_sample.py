# The real CamVid sample bundled in data/camvid_sample: 48 train / 16 val
# images at 180x240 (half resolution), made by
# tools/dataset_converters/camvid.py. Small enough for CPU runs in minutes.
# The CamVid pipelines and loaders are stated here once: the other CamVid
# bases (camvid.py, camvid_cpu.py, camvid_sample_96x96.py) inherit them and
# change only the steps' arguments and the loader settings that differ
# (mmengine replaces a list a config redefines, so they derive theirs from
# _base_.train_pipeline / _base_.test_pipeline).
dataset_type = 'CamVidDataset'
data_root = 'data/camvid_sample'
crop_size = (128, 128)
# stops at a label outside [0, 11) other than 255, naming the file
label_guard = dict(type='CheckSegLabels', num_classes=11, ignore_index=255)
# LoadCheckedImage: mmcv's LoadImageFromFile (the same pixels) that names a bad
# file before any transform (das_mmseg.datasets.loading)
train_pipeline = [
    dict(type='LoadCheckedImage'),
    dict(type='LoadAnnotations'),
    label_guard,
    dict(
        type='RandomResize',
        scale=(240, 180),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(240, 180), keep_ratio=True),
    dict(type='LoadAnnotations'),
    label_guard,
    dict(type='PackSegInputs'),
]
img_ratios = [0.75, 1.0, 1.25]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [label_guard],
            [dict(type='PackSegInputs')]
        ])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
