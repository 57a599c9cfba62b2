"""Safe checkpoint I/O for mmengine, switched on by importing this module.

What it changes, process-wide, in mmengine's registries:

- local checkpoint loading (``CheckpointLoader`` scheme ``''``) goes through
  :func:`das_mmseg.engine.checkpoint.load_from_local`: damaged files are named
  with the fix, and unpickling runs no code;
- local writes (file backend ``'local'``) go through
  :class:`das_mmseg.engine.checkpoint.AtomicLocalBackend`: a run killed while
  saving leaves the previous file intact;
- ``init_cfg=dict(type='Pretrained')`` builds
  :class:`das_mmseg.engine.checkpoint.PretrainedInit`, which refuses
  weights that match nothing and names offline URLs.

``import das_mmseg`` does none of this. The shipped configs choose it in
``_base_/default_runtime.py`` (``custom_imports``), so every tool reading
them (ours, mmseg's, ``init_model``) gets it; a project of its own can
import this module, or leave it out. Importing it again is harmless.
"""
from .engine.checkpoint.pretrained import register_pretrained_init
from .engine.checkpoint.safe_loading import register_checkpoint_loader

register_checkpoint_loader()
register_pretrained_init()
