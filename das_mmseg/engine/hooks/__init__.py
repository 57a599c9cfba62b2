from .crash_safe_checkpoint_hook import CrashSafeCheckpointHook
from .das_policy_hook import DASPolicyHook
from .das_search_hook import DASSearchHook

__all__ = ['CrashSafeCheckpointHook', 'DASPolicyHook', 'DASSearchHook']
