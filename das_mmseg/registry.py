"""Registration of das_mmseg components beyond mmseg's registries.

Segmentation needs only mmseg. mmpretrain is optional (``pip install
das_mmseg[cls]``): the components that make sense for classification too (the
clip cell, the temporal modules, ``ImageToVideo``) register in mmpretrain's
registries when it is installed, through :func:`register_in_mmpretrain`, and
the classification-only modules (which import mmpretrain themselves) are
imported only when :func:`mmpretrain_available` says so.
"""
import importlib
from typing import Optional, Sequence, Type

from mmengine.registry import Registry


def mmpretrain_available() -> bool:
    """Whether mmpretrain can be imported (it is then imported)."""
    try:
        importlib.import_module('mmpretrain.registry')
    except ImportError:
        return False
    return True


def register_under_names(registry: Registry,
                         module: Type,
                         aliases: Sequence[str] = ()) -> Type:
    """Register ``module`` in ``registry`` under its class name and under
    ``aliases``; idempotent (a name already bound to ``module`` is left
    alone, a name bound to anything else is an error).

    Args:
        registry (Registry): Where to register.
        module (type): The class.
        aliases (Sequence[str]): Further names, e.g. the short names a paper
            uses (``'GSF'`` for ``GateShiftFuse``).

    Returns:
        type: ``module``, so that the function works as a decorator body.
    """
    for name in (module.__name__, *aliases):
        bound = registry.module_dict.get(name)
        if bound is module:
            continue
        # the same definition imported again (e.g. a reloaded module)
        redefined = bound is not None and (
            bound.__module__, bound.__qualname__) == (module.__module__,
                                                      module.__qualname__)
        if bound is not None and not redefined:
            raise KeyError(
                f'{registry.name} registry ({registry.scope}): the name '
                f'{name!r} is already taken by {bound.__module__}.'
                f'{bound.__qualname__}; cannot register '
                f'{module.__module__}.{module.__qualname__} under it')
        registry.register_module(name=name, module=module, force=redefined)
    return module


def register_in_mmpretrain(module: Type,
                           registry: str = 'MODELS',
                           aliases: Sequence[str] = ()) -> bool:
    """Register ``module`` in mmpretrain's registry ``registry`` (under its
    class name and ``aliases``) if mmpretrain is installed.

    Args:
        module (type): The class.
        registry (str): The name of the registry in ``mmpretrain.registry``,
            e.g. ``'MODELS'`` or ``'TRANSFORMS'``.
        aliases (Sequence[str]): Further names.

    Returns:
        bool: Whether mmpretrain is installed (and ``module`` registered).
    """
    if not mmpretrain_available():
        return False
    target: Optional[Registry] = getattr(
        importlib.import_module('mmpretrain.registry'), registry, None)
    if target is None:
        raise ValueError(f'mmpretrain.registry has no registry {registry!r}')
    register_under_names(target, module, aliases)
    return True


def register_in_mmseg_and_mmpretrain(registry: str = 'MODELS',
                                     aliases: Sequence[str] = ()):
    """Class decorator: register in mmseg's registry ``registry`` and, when
    mmpretrain is installed, in mmpretrain's, under the class name and
    ``aliases``.

    Args:
        registry (str): The registry's name in both ``mmseg.registry`` and
            ``mmpretrain.registry``.
        aliases (Sequence[str]): Further names.
    """

    def register(cls: Type) -> Type:
        register_under_names(
            getattr(importlib.import_module('mmseg.registry'), registry), cls,
            aliases)
        register_in_mmpretrain(cls, registry, aliases)
        return cls

    return register


__all__ = [
    'mmpretrain_available', 'register_under_names', 'register_in_mmpretrain',
    'register_in_mmseg_and_mmpretrain'
]
