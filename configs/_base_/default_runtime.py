# mmseg's runtime (registry scope, logging, visualizer, TTA model), plus the
# import that registers das_mmseg.
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['das_mmseg'], allow_failed_imports=False)
