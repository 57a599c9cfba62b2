# The DAS search as in the paper: first-order DARTS, one α step (Adam lr 3e-4,
# betas (0.5, 0.999), weight decay 1e-3) on a batch of the policy half of a
# 50/50 split of the training set per weight step on the other half; after
# `search_iters` the derived policy is written to <work_dir>/das_policy.json
# and training goes on with it. Two-stage alternative:
#   --cfg-options custom_hooks.0.mode=search, then
#   --cfg-options custom_hooks.0.mode=train \
#       custom_hooks.0.policy_file=work_dirs/.../das_policy.json
custom_hooks = [
    dict(
        type='DASSearchHook',
        mode='search_and_train',
        search_iters=10000,
        interval=1,
        policy_portion=0.5,
        split_seed=0,
        optimizer=dict(
            type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3))
]
