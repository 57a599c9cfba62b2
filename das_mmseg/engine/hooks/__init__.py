# Hooks register on import; one line per module.
from .das_search_hook import DASSearchHook

__all__ = ['DASSearchHook']
