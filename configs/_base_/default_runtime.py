# mmseg's runtime (registry scope, logging, visualizer, TTA model), plus the
# import that registers das_mmseg. A rank that stops answering ends a
# distributed job after dist_cfg.timeout seconds (torch's default: 30
# minutes).
_base_ = ['mmseg::_base_/default_runtime.py']

# das_mmseg registers the components; das_mmseg.safe_io makes mmengine's local
# checkpoint loading safe, its local writes atomic and init_cfg 'Pretrained'
# checked (importing das_mmseg alone changes nothing of mmengine)
custom_imports = dict(
    imports=['das_mmseg', 'das_mmseg.safe_io'], allow_failed_imports=False)
env_cfg = dict(dist_cfg=dict(timeout=600))
