# The demo's data: the bundled CamVid sample (camvid_sample.py) in 96x96 crops
# of images scaled to 0.5-1.0 of 180x240, one loader worker, validation in
# the main process: light enough for a CPU run in minutes.
_base_ = ['./camvid_sample.py']
crop_size = (96, 96)
# LoadCheckedImage: mmcv's LoadImageFromFile (the same pixels) that names a bad
# file before any transform (das_mmseg.datasets.loading)
train_pipeline = [
    dict(type='LoadCheckedImage'),
    dict(type='LoadAnnotations'),
    {{_base_.label_guard}},
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
