"""Leaf helpers every layer may use; they import nothing else of das_mmseg:
atomic file writes (io), argument checks (validators), the tools' command
line (cli), the installed stack (env) and timing (benchmark)."""
from .env import check_mmcv

__all__ = ['check_mmcv']
