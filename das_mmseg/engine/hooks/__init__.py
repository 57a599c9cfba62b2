from .das_policy_hook import DASPolicyHook
from .das_search_hook import DASSearchHook

__all__ = ['DASPolicyHook', 'DASSearchHook']
