# The demo's data: the bundled CamVid sample (camvid_sample.py) in 96x96 crops
# of images scaled to 0.5-1.0 of 180x240, one loader worker, validation in
# the main process: light enough for a CPU run in minutes.
_base_ = ['./camvid_sample.py']
crop_size = (96, 96)
# camvid_sample.py's steps, with the arguments that differ
train_pipeline = [
    (dict(step, ratio_range=(0.5, 1.0)) if step.type == 'RandomResize' else
     dict(step, crop_size=crop_size) if step.type == 'RandomCrop' else step)
    for step in _base_.train_pipeline
]
train_dataloader = dict(num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
