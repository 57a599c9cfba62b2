# Hooks register on import; one line per module.
from .crash_safe_checkpoint_hook import CrashSafeCheckpointHook  # noqa: F401
from .das_search_hook import DASSearchHook  # noqa: F401
