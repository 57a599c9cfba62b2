# (b) of the CamVid evidence table (README, "Results";
# tools/camvid_evidence.py runs it with seeds 0, 1, 2): DAS with the paper's
# protocol in one run on all 367 CamVid training images at half resolution
# (180x240, _base_/datasets/camvid_cpu.py):
# 1. search, 250 iterations on the 50/50 split of the training set (183
#    images for the weights, 184 for α; about 5 epochs of each half), one α
#    step per weight step;
# 2. the policy is derived (<work_dir>/das_policy.json): the strongest op of
#    each edge, two edges per node, each op with the magnitude it drew at
#    construction (fixed, from the paper's ranges: shift ±0.12 of the side,
#    rotate ±20°, zoom 0.7-1.3 per step);
# 3. retraining from the initial weights on all 367 images for the whole
#    schedule of the image baseline (1000 iterations, batch 4 of 128x128
#    crops), then mIoU on the 101 val images.
# The demo's tiny GSF-ResNetV1c-18 PSPNet (16 base channels, output stride
# 16), T = 4 frames, from scratch. Weights: the paper's segmentation
# optimizer (SGD lr 0.02, momentum 0.9, weight decay 1e-4, poly) without the
# backbone lr x 0.1 (pretrained only), gradients clipped at 5 (authors'
# code). α: the authors' Adam (betas (0.5, 0.999), weight decay 1e-3) at 10x
# their lr (3e-3), as the demo: the search is about 15x shorter than their 80
# epochs (3680 iterations on this training set at batch 4), so α can move
# about as far (lr x steps: 0.75 here, 1.1 there). Unlike the paper: T = 4
# (not 8), a tiny network, a short search and schedule, no pretraining;
# sized for a 2-core CPU: the whole table (12 runs, 2 at a time) took 44 min
# (one run: 12 min, 250 search + 1000 training iterations).
# Image baseline: pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py.
_base_ = [
    '../_base_/models/das_pspnet_gsf_r18_tiny.py',
    '../_base_/datasets/camvid_cpu.py', '../_base_/default_runtime.py',
    '../_base_/schedules/das_schedule_20k.py',
    '../_base_/search/das_first_order.py'
]
crop_size = (128, 128)  # the data piece's
max_iters = 1000
search_iters = 250
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
    logger=dict(interval=50), checkpoint=dict(interval=250, max_keep_ckpts=1))
randomness = dict(seed=0)
