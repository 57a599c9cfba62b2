# CamVid at half resolution for CPU experiments: all 367 train / 101 val
# images of the SegNet release, downscaled from 360x480 to 180x240 by
#   python tools/dataset_converters/camvid.py CAMVID data/camvid_cpu \
#       --splits train val --scale 0.5
# (tools/camvid_evidence.py converts it when data/camvid_cpu is missing).
# The pipeline of camvid.py (mmseg's CamVid-style training augmentation:
# random rescaling by 0.5-2.0, crop, flip, photometric distortion) at half
# size, with 128x128 crops; validation on the whole 180x240 val images. Data
# loading in the training process (num_workers=0): one core per run.
_base_ = ['./camvid_sample.py']
data_root = 'data/camvid_cpu'
crop_size = (128, 128)
# LoadCheckedImage: mmcv's LoadImageFromFile (the same pixels) that names a bad
# file before any transform (das_mmseg.datasets.loading)
train_pipeline = [
    dict(type='LoadCheckedImage'),
    dict(type='LoadAnnotations'),
    {{_base_.label_guard}},
    dict(
        type='RandomResize',
        scale=(240, 180),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
