# The DAS search of the paper: first-order DARTS over the clip cell's α,
# alternating one α step on a batch of the policy part with one weight step
# on the weight part of a 50/50 split of the training set; then the policy is
# derived (<work_dir>/das_policy.json, das_alpha.png, das_clip.png) and, as in
# the paper, the final model is retrained from its initial weights on the
# whole training set for the whole schedule (train_cfg.max_iters /
# max_epochs).
#
# A config lists this base beside its schedule (any schedule: ours in
# ../schedules/, or mmseg's and mmpretrain's own); the runner it names,
# DASSearchRunner, writes das_search into the schedule's keys when it is
# built (das_mmseg.engine.compose_search): mmengine's train loop becomes its
# DAS twin, the optimizer wrapper gets α's (optim_wrapper.policy) and the
# parameter schedulers one list per wrapper (model, policy). The run's dumped
# config holds the result. A config sets the search's length:
#   das_search = dict(search_iters=...)   # or search_epochs, epoch loops
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
# To change a setting, override its key, e.g.
#   das_search = dict(retrain=False)
#   --cfg-options das_search.mode=search
# Two-stage route: mode='search', then mode='train' with
#   das_search.policy_file=<work_dir>/das_policy.json, in another --work-dir
#   (a fresh run into a folder holding a run is refused).
# DARTS' second-order α step: ./das_second_order.py.
runner_type = 'DASSearchRunner'
das_search = dict(
    mode='search_and_train',  # | 'search' | 'train'
    policy_interval=1,  # one α step every policy_interval weight steps
    retrain=True,  # False: keep training the searched weights (warm start)
    policy_portion=0.5,  # the policy part of the training set
    split_seed=0,
    policy_file=None,
    policy_optim_wrapper=dict(
        type='OptimWrapper',
        optimizer=dict(
            type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)),
    magnitude_lr=None,  # learned magnitudes only: their lr (default α's)
    policy_param_scheduler=[])
custom_hooks = [dict(type='DASPolicyHook')]
