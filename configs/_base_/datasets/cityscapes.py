# Cityscapes, mmseg's own dataset config (512x1024 crops of the 1024x2048
# frames, 19 classes). Layout (README, "Datasets"):
# data/cityscapes/leftImg8bit/{train,val}/<city>/*_leftImg8bit.png and
# data/cityscapes/gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png, the
# label maps written by mmseg's converter:
# python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8
# mmseg's pipelines, with the label guard after LoadAnnotations.
_base_ = ['mmseg::_base_/datasets/cityscapes.py']
# stops at a label outside [0, 19) other than 255, naming the file
label_guard = dict(type='CheckSegLabels', num_classes=19, ignore_index=255)
crop_size = (512, 1024)
# LoadCheckedImage: mmcv's LoadImageFromFile (the same pixels) that names a bad
# file before any transform (das_mmseg.datasets.loading)
train_pipeline = [
    dict(type='LoadCheckedImage'),
    dict(type='LoadAnnotations'),
    label_guard,
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadAnnotations'),
    label_guard,
    dict(type='PackSegInputs'),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]  # mmseg's
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
