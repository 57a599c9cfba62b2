# (TA) of the CamVid ablation (README, "CamVid evidence";
# tools/camvid_evidence.py): the image baseline
# pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py with a TrivialAugment-style
# geometric augmentation (Müller & Hutter, ICCV 2021) of the clip cell's op
# space, and nothing else changed (model, data, crops, schedule, optimizer,
# evaluation). After the baseline's pipeline (random rescaling 0.5-2.0,
# 128x128 crop, flip, photometric distortion), every training crop gets ONE
# of shift_x, shift_y, zoom, rotate (uniform), at a strength s ~ U(0, 1) of
# the way from the identity to an end of the op's per-step range drawn at
# random (shift ±0.12 of the side, zoom 0.7-1.3, rotate ±20°: the ranges DAS
# draws its magnitudes from), with the labels warped alike (black padding,
# ignored labels). This replaces the stacked (c) (all four ops at full
# strength on every crop: pspnet_r18tiny-d16_1xb4-1k-shiftrotzoom_...) in the
# headline table: one op of random strength per image is the standard recipe.
#   python tools/train.py CONFIG
_base_ = ['./pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py']
# the baseline's pipeline with the step before PackSegInputs
train_pipeline = _base_.train_pipeline[:-1] + [
    dict(
        type='TrivialGeometricAugment',
        ops=('shift_x', 'shift_y', 'zoom', 'rotate'),
        pad_val=0,
        seg_pad_val=255),
] + _base_.train_pipeline[-1:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
