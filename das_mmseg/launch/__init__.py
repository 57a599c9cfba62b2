"""What ``tools/train.py`` and ``tools/test.py`` check and adapt before a
Runner is built.

Every check here runs in seconds and raises before any data is loaded or any
weight is trained, so a bad path or an unsupported machine never costs hours.
"""
from .config import (RUNTIME_KEYS, CfgOptionsAction, check_cfg_options,
                     check_config_path, load_config)
from .config_values import check_config_values, memory_bytes
from .data_roots import (DATASETS_DOC, LOADERS, check_data_folder_holds_files,
                         check_data_roots)
from .machine import (LAUNCHER_ENV, adapt_to_cpu, check_launcher_env,
                      init_cpu_distributed)
from .run import (build_runner, check_data_before_start,
                  check_loaded_checkpoints, prepare_run)
from .work_dir import (RUN_FILES, check_fresh_work_dir, check_work_dir,
                       earlier_config_dump_kept)

__all__ = [
    'RUNTIME_KEYS', 'CfgOptionsAction', 'check_cfg_options',
    'check_config_path', 'load_config', 'check_config_values', 'memory_bytes',
    'DATASETS_DOC', 'LOADERS', 'check_data_folder_holds_files',
    'check_data_roots', 'LAUNCHER_ENV', 'adapt_to_cpu', 'check_launcher_env',
    'init_cpu_distributed', 'build_runner', 'check_data_before_start',
    'check_loaded_checkpoints', 'prepare_run', 'RUN_FILES',
    'check_fresh_work_dir', 'check_work_dir', 'earlier_config_dump_kept'
]
