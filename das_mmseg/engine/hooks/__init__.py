from .checkpoint_fit_hook import CheckpointFitHook
from .crash_safe_checkpoint_hook import CrashSafeCheckpointHook
from .das_policy_hook import DASPolicyHook
from .das_search_hook import DASSearchHook
from .data_preflight_hook import DataPreflightHook

__all__ = [
    'CheckpointFitHook', 'CrashSafeCheckpointHook', 'DataPreflightHook',
    'DASPolicyHook', 'DASSearchHook'
]
