from .checkpoint_fit_hook import CheckpointFitHook
from .crash_safe_checkpoint_hook import CrashSafeCheckpointHook
from .das_policy_hook import DASPolicyHook
from .das_search_hook import DASSearchHook

__all__ = [
    'CheckpointFitHook', 'CrashSafeCheckpointHook', 'DASPolicyHook',
    'DASSearchHook'
]
