from .das_optim_wrapper_constructor import DASOptimWrapperConstructor
from .optim_wrapper_parts import split_optim_wrappers

__all__ = ['DASOptimWrapperConstructor', 'split_optim_wrappers']
