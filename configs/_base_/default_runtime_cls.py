# mmpretrain's runtime (registry scope 'mmpretrain', logging, visualizer), plus
# the import that registers das_mmseg and the distributed timeout of
# default_runtime.py.
_base_ = ['mmpretrain::_base_/default_runtime.py']

# das_mmseg registers the components; das_mmseg.safe_io makes mmengine's local
# checkpoint loading safe, its local writes atomic and init_cfg 'Pretrained'
# checked (importing das_mmseg alone changes nothing of mmengine)
custom_imports = dict(
    imports=['das_mmseg', 'das_mmseg.safe_io'], allow_failed_imports=False)
env_cfg = dict(dist_cfg=dict(timeout=600))  # seconds
# mmengine's CheckpointHook, writing the new checkpoint before it deletes the
# ones max_keep_ckpts retires (a run killed while saving keeps one)
default_hooks = dict(checkpoint=dict(type='CrashSafeCheckpointHook'))
