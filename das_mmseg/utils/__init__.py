from .checkpoint import (UnsafeCheckpointError, load_from_local,
                         register_checkpoint_loader, register_safe_globals)
from .env import check_mmcv

__all__ = [
    'UnsafeCheckpointError', 'load_from_local', 'register_checkpoint_loader',
    'register_safe_globals', 'check_mmcv'
]
