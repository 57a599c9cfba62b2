from .checkpoint import (UnsafeCheckpointError, load_from_local,
                         register_checkpoint_loader, register_safe_globals)
from .env import check_mmcv
from .pretrained import (PretrainedInit, PretrainedWeightsError,
                         register_pretrained_init)

__all__ = [
    'UnsafeCheckpointError', 'load_from_local', 'register_checkpoint_loader',
    'register_safe_globals', 'check_mmcv', 'PretrainedInit',
    'PretrainedWeightsError', 'register_pretrained_init'
]
