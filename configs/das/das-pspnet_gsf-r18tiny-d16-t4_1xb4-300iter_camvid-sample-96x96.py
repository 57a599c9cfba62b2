# The demo: the whole DAS method on the real CamVid sample bundled in
# data/camvid_sample (48 train / 16 val images at 180x240), on a CPU in
# minutes:
#   python tools/train.py CONFIG --work-dir work_dirs/demo   (or: make demo)
# 1. search: the clip cell's α is trained on the policy half of the 48
#    training images, one α step per weight step on the other half, for 30
#    iterations;
# 2. the derived policy is written to <work_dir>/das_policy.json, with
#    das_alpha.png (softmax(α) over the search) and das_clip.png (the clip the
#    policy makes of a training image);
# 3. the model is retrained from its initial weights on all 48 images for 300
#    iterations with that policy; 4. mIoU on the 16 val images.
# The model is the tiny GSF-ResNetV1c-18 PSPNet (16 base channels, output
# stride 16) with T = 4 frames, from scratch; crops 96x96, batch 4. The
# paper's optimizer (SGD lr 0.02, momentum 0.9, weight decay 1e-4, poly,
# gradients clipped at 5), without the backbone lr x 0.1 (from scratch). For
# a CPU demo, unlike the paper's recipe: a short search (30 iterations, not
# 80 epochs) with a 10x α learning rate (3e-3), T = 4, a tiny network.
# Image baseline: pspnet_r18tiny-d16_1xb4-300iter_camvid-sample-96x96.py.
_base_ = [
    '../_base_/models/das_pspnet_gsf_r18_tiny.py',
    '../_base_/datasets/camvid_sample_96x96.py',
    '../_base_/default_runtime.py', '../_base_/schedules/das_schedule_20k.py',
    '../_base_/search/das_first_order.py'
]
crop_size = (96, 96)  # the data piece's
max_iters = 300
search_iters = 30
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
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
das_search = dict(
    search_iters=search_iters,
    # the short search: 10x the paper's α lr
    policy_optim_wrapper=dict(optimizer=dict(lr=3e-3)))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_iters))
randomness = dict(seed=0)
