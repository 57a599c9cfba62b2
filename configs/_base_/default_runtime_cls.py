# mmpretrain's runtime (registry scope 'mmpretrain', logging, visualizer), plus
# the import that registers das_mmseg and the distributed timeout of
# default_runtime.py.
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['das_mmseg'], allow_failed_imports=False)
env_cfg = dict(dist_cfg=dict(timeout=600))  # seconds
