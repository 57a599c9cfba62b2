# (c) of the CamVid evidence table (README, "Results";
# tools/camvid_evidence.py runs it with seeds 0, 1, 2): the image baseline
# pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py with a standard random
# augmentation of the kind and strength DAS's clip uses, and nothing else
# changed (model, data, crops, schedule, optimizer, evaluation).
# After the baseline's pipeline (random rescaling 0.5-2.0, 128x128 crop, flip,
# photometric distortion), every training crop is
# - zoomed about its centre by z ~ U(0.7, 1.3) and shifted by
#   sx, sy ~ U(-0.12, 0.12) of its width / height (RandomShiftZoom, ours:
#   mmseg has no translation and no size-preserving zoom),
# - rotated by U(-20°, 20°) about its centre (mmseg's RandomRotate),
# with black padding and ignored labels (255) where the source ends, as the
# clip cell's zero padding. How the strength is matched: the ranges are the
# per-step ranges from which DAS draws the magnitude of each op on each edge
# (shift_x, shift_y ±0.12 of the side, zoom 0.7-1.3, rotate ±20°;
# das_mmseg/augment/ops/geometric.py, the authors' operations.py), all four
# ops applied to every crop, each with a fresh uniform draw. A DAS frame at
# distance 1 from the reference composes one step of the ops on its paths;
# frames at distance 2 go twice as far and the reference frame not at all;
# and DAS warps the frames, not the label, which stays the reference frame's.
#   python tools/train.py CONFIG
_base_ = ['./pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py']
# the baseline's pipeline with the two steps before PackSegInputs
train_pipeline = _base_.train_pipeline[:-1] + [
    dict(
        type='RandomShiftZoom',
        prob=1.0,
        shift=(-0.12, 0.12),
        zoom=(0.7, 1.3),
        pad_val=0,
        seg_pad_val=255),
    dict(type='RandomRotate', prob=1.0, degree=20, pad_val=0, seg_pad_val=255),
] + _base_.train_pipeline[-1:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
