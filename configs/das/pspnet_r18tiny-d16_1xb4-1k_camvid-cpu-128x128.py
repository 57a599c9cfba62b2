# (a) of the CamVid evidence table (README, "Results";
# tools/camvid_evidence.py runs it with seeds 0, 1, 2): the image baseline of
# das-pspnet_gsf-r18tiny-d16-t4_1xb4-1k_camvid-cpu-128x128.py, a plain mmseg
# EncoderDecoder. The demo's tiny PSPNet (mmseg's pspnet_r50-d8.py shrunk to a
# ResNetV1c-18 of 16 base channels, output stride 16, no auxiliary head) from
# scratch on all 367 CamVid training images at half resolution (180x240,
# _base_/datasets/camvid_cpu.py): batch 4 of 128x128 crops, 1000 iterations
# (about 11 epochs), mIoU on the 101 val images (whole 180x240 images).
# Optimizer as the paper's segmentation setting (SGD lr 0.02, momentum 0.9,
# weight decay 1e-4, poly decay to 1e-4) without its backbone lr x 0.1 (that
# is for pretrained backbones), gradients clipped at norm 5 (authors' code).
# Sized for a 2-core CPU: one run 2.3 min, the whole table (12 runs, 2 at a
# time) 44 min; a CPU-scale check, not the paper's setting (CamVid is not in
# it).
#   python tools/train.py CONFIG
_base_ = [
    '../_base_/models/pspnet_r18_tiny.py', '../_base_/datasets/camvid_cpu.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
crop_size = (128, 128)  # the data piece's
max_iters = 1000
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
optimizer = dict(lr=0.02, weight_decay=1e-4)
optim_wrapper = dict(
    optimizer=optimizer,
    clip_grad=dict(_delete_=True, max_norm=5, norm_type=2))  # base: None
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(
        type='CrashSafeCheckpointHook', interval=250, max_keep_ckpts=1))
randomness = dict(seed=0)
