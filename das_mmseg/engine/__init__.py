from .arch_step import Unrolled, arch_step, search_diagnostics
from .hooks import CrashSafeCheckpointHook, DASPolicyHook, DASSearchHook
from .optimizers import DASOptimWrapperConstructor
from .runner import (DASEpochBasedTrainLoop, DASIterBasedTrainLoop,
                     DASSearchRunner, compose_search)

__all__ = [
    'arch_step', 'search_diagnostics', 'Unrolled', 'CrashSafeCheckpointHook',
    'DASPolicyHook', 'DASSearchHook', 'DASOptimWrapperConstructor',
    'DASIterBasedTrainLoop', 'DASEpochBasedTrainLoop', 'DASSearchRunner',
    'compose_search'
]
