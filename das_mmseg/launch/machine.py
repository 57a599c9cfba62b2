"""The machine a run starts on: the launcher's environment, a CPU-only
machine's settings and its gloo process group."""
import datetime
import logging
import os
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log


def _replace_sync_bn(node) -> int:
    """Replace ``SyncBN`` by ``BN`` in every norm config, in place; return how
    many were replaced."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_sync_bn(value)
    return count


def adapt_to_cpu(cfg: Config) -> None:
    """Make a GPU config run on a machine without CUDA, in place. A no-op when
    CUDA is available.

    - ``SyncBN`` needs CUDA; plain ``BN`` computes the same per-process
      statistics on one process (it differs across processes under DDP, which
      is the accepted price of a CPU run).
    - Distributed runs use the ``gloo`` backend instead of ``nccl``, and DDP
      wraps a CPU module (no device ids).
    - mixed precision raises at once: mmengine's ``AmpOptimWrapper`` supports
      accelerators only.
    """
    if torch.cuda.is_available():
        return
    if (cfg.get('optim_wrapper') or {}).get('type') == 'AmpOptimWrapper':
        raise RuntimeError(
            'mixed precision (--amp, or optim_wrapper.type="AmpOptimWrapper") '
            'needs a CUDA device, and '
            'this machine has none: train in float32 here (drop --amp, or set '
            'optim_wrapper.type="OptimWrapper").')
    if _replace_sync_bn(cfg.get('model')):
        print_log(
            'No CUDA device: SyncBN layers are built as BN.',
            logger='current',
            level=logging.WARNING)
    if cfg.get('launcher', 'none') != 'none':
        cfg.setdefault('env_cfg', ConfigDict())
        cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
        cfg.env_cfg.dist_cfg.backend = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
            type='MMDistributedDataParallel')
        wrapper.setdefault('broadcast_buffers', False)
        wrapper['device_ids'] = None  # CPU modules take no device ids
        cfg.model_wrapper_cfg = wrapper


LAUNCHER_ENV = dict(
    pytorch=(('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
             'start it with torchrun, e.g. tools/dist_train.sh CONFIG GPUS'),
    slurm=(('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
           'start it with srun, e.g. tools/slurm_train.sh'),
    mpi=(('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
          'OMPI_COMM_WORLD_LOCAL_RANK', 'MASTER_ADDR'),
         'start it with mpirun, and set MASTER_ADDR'))


def check_launcher_env(launcher: str) -> None:
    """Raise a clear error when ``--launcher`` is given but the process was
    not started by that launcher (torch or mmengine would fail with a
    ``KeyError`` or wait for peers that never come)."""
    if launcher not in LAUNCHER_ENV:
        return
    names, how = LAUNCHER_ENV[launcher]
    if launcher == 'slurm':
        names = names[:3]  # MASTER_PORT has a default there
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher}: the environment variable(s) '
            f'{", ".join(missing)} that this launcher sets are missing, so '
            f'this process was not started by it: {how}, or drop --launcher '
            'for one process.')


def init_cpu_distributed(launcher: str,
                         timeout: Optional[float] = None) -> None:
    """Initialise the gloo process group for a CPU-only ``pytorch`` launch.

    mmengine's own ``init_dist`` calls ``torch.cuda.set_device`` first, which
    fails without a GPU; once the group exists the Runner skips its own
    initialisation.

    Args:
        launcher (str): The launcher.
        timeout (float, optional): Seconds a collective waits for a rank
            before the job fails (``env_cfg.dist_cfg.timeout``, as mmengine
            takes it on GPUs); None: torch's default (30 minutes).
    """
    if launcher != 'pytorch' or torch.cuda.is_available(
    ) or torch.distributed.is_initialized():
        return
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch.distributed.init_process_group(backend='gloo', **kwargs)
