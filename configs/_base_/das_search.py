# The DAS search: first-order DARTS over the clip cell's α, alternating one α
# step on a batch of the policy part with one weight step on the weight part
# of a 50/50 split of the training set; then the policy is derived
# (<work_dir>/das_policy.json, das_alpha.png, das_clip.png) and, as in the
# paper, the final model is retrained from its initial weights on the whole
# training set for the whole schedule (train_cfg.max_iters / max_epochs).
# The schedule pieces that inherit this one
# (_base_/schedules/das_schedule_*.py) add the loop type, the lengths and the
# weights' optimizer; a config sets the search length
# (train_cfg.search_iters or search_epochs).
#
# Sources of the settings the paper leaves open (authors' development code,
# github.com/casarinsof/TRAS):
# - α optimizer Adam, lr 3e-4, betas (0.5, 0.999), weight decay 1e-3:
#   sota/segmentation/architect_ig.py and exp_scripts/config.json
#   ("architect"); sotaDAS/cnn/train_search.py (--arch_learning_rate,
#   --arch_weight_decay) for classification;
# - the 50/50 split: exp_scripts/config.json "val_split": 0.5,
#   sotaDAS/cnn/train_search.py --train_portion 0.5;
# - one α step per weight step (DARTS).
#
# The variables below are evaluated here (mmengine configs do not bind late):
# to change a setting in a config, override the dict key, e.g.
#   train_cfg = dict(retrain=False)
#   --cfg-options train_cfg.mode=search
# Two-stage route: mode='search', then mode='train' with
#   train_cfg.policy_file=<work_dir>/das_policy.json, in another --work-dir
#   (a fresh run into a folder holding a run is refused).
das_mode = 'search_and_train'  # | 'search' | 'train'
policy_interval = 1  # one α step every policy_interval weight steps
policy_portion = 0.5  # the policy part of the training set
split_seed = 0
retrain = True  # False: keep training the searched weights (warm start)
policy_optimizer = dict(
    type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)

train_cfg = dict(
    mode=das_mode,
    policy_interval=policy_interval,
    retrain=retrain,
    policy_portion=policy_portion,
    split_seed=split_seed,
    policy_file=None)
optim_wrapper = dict(
    constructor='DASOptimWrapperConstructor',
    type='OptimWrapper',
    policy=dict(type='OptimWrapper', optimizer=policy_optimizer),
    magnitude_lr=None)  # learned magnitudes only: their lr (default α's)
# per optimizer wrapper; the schedule pieces fill in the weights' ('model')
param_scheduler = dict(model=[], policy=[])
custom_hooks = [dict(type='DASPolicyHook')]
