"""Checkpoints in and out: safe and checked loading, atomic writes, the
checkpoint ``--resume`` continues from, whether a checkpoint fits a model,
and checked ``init_cfg=dict(type='Pretrained')``."""
from .atomic_backend import AtomicLocalBackend, register_atomic_local_backend
from .damage import (CorruptCheckpointError, check_checkpoint_file,
                     checkpoint_damage)
from .fit import (CheckpointMismatchError, check_checkpoint_file_fits,
                  check_checkpoint_fits)
from .pretrained import (PretrainedInit, PretrainedWeightsError,
                         register_pretrained_init)
from .resume import (INITIAL_STATE_FILE, checkpoints_in,
                     find_resumable_checkpoint, resolve_resume)
from .safe_loading import (UnsafeCheckpointError, load_from_local,
                           register_checkpoint_loader, register_safe_globals)

__all__ = [
    'AtomicLocalBackend', 'register_atomic_local_backend',
    'CorruptCheckpointError', 'check_checkpoint_file', 'checkpoint_damage',
    'CheckpointMismatchError', 'check_checkpoint_file_fits',
    'check_checkpoint_fits', 'PretrainedInit', 'PretrainedWeightsError',
    'register_pretrained_init', 'INITIAL_STATE_FILE', 'checkpoints_in',
    'find_resumable_checkpoint', 'resolve_resume', 'UnsafeCheckpointError',
    'load_from_local', 'register_checkpoint_loader', 'register_safe_globals'
]
