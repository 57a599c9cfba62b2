from .das_optim_wrapper_constructor import DASOptimWrapperConstructor

__all__ = ['DASOptimWrapperConstructor']
