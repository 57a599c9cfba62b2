# The DAS paper's twin of mmseg's schedule_80k.py: das_schedule_40k.py (the
# paper's optimizer, gradient clipping at 5) with 80k iterations of
# training, evaluated and saved every 8k.
_base_ = ['./das_schedule_40k.py']
max_iters = 80000
interval = 8000
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=interval)
default_hooks = dict(checkpoint=dict(interval=interval))
