# mmseg's runtime (registry scope, logging, visualizer, TTA model), plus the
# import that registers das_mmseg. A rank that stops answering ends a
# distributed job after dist_cfg.timeout seconds (torch's default: 30
# minutes).
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['das_mmseg'], allow_failed_imports=False)
env_cfg = dict(dist_cfg=dict(timeout=600))
