# CamVid at half resolution for CPU experiments: all 367 train / 101 val
# images of the SegNet release, downscaled from 360x480 to 180x240 by
#   python tools/dataset_converters/camvid.py CAMVID data/camvid_cpu \
#       --splits train val --scale 0.5
# (tools/camvid_evidence.py converts it when data/camvid_cpu is missing).
# The pipeline of camvid_sample.py (180x240 images, 128x128 crops) with the
# random rescaling of camvid.py (mmseg's CamVid-style training augmentation:
# rescaling by 0.5-2.0, crop, flip, photometric distortion); validation on
# the whole 180x240 val images. Data loading in the training process
# (num_workers=0): one core per run.
_base_ = ['./camvid_sample.py']
data_root = 'data/camvid_cpu'
# camvid_sample.py's steps, with the arguments that differ
train_pipeline = [
    dict(step, ratio_range=(0.5, 2.0)) if step.type == 'RandomResize' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
