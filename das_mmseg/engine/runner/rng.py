"""The process' random number generators as checkpointable state.

A run draws from four generators in the main process: torch's CPU generator
(dropout, the clip cell's Gumbel samples, data loader seeds), CUDA's (the same
on a GPU), numpy's and Python's (mmcv/mmseg transforms when the data loader
has no workers). mmengine seeds them once at start and saves none, so a
resumed run draws different dropout masks than the run it continues. The DAS
loops keep :func:`rng_state` in the message hub after every iteration (it is
written with every checkpoint) and give it back with :func:`set_rng_state`
once a resumed run has opened its data streams; :func:`preserved_rng` keeps
validation from moving the training's generators, so a run validated at
iteration k (after its checkpoint there) and its resume from that checkpoint
draw the same.

The state holds only tensors, ints and floats, which torch's ``weights_only``
loader reads.
"""
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from mmengine.dist import get_world_size

#: message hub key of the state
RNG_KEY = 'das_rng_state'


def rng_state() -> dict:
    """The state of torch's (CPU and, once initialised, CUDA), numpy's and
    Python's global generators."""
    version, keys, gauss = random.getstate()
    name, np_keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        torch=torch.get_rng_state(),
        numpy=dict(
            keys=torch.from_numpy(np_keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        python=dict(version=version, keys=list(keys), gauss=gauss))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Give the generators the state :func:`rng_state` took."""
    torch.set_rng_state(state['torch'])
    np_state = state['numpy']
    np.random.set_state(
        ('MT19937', np_state['keys'].numpy().astype(np.uint32),
         np_state['pos'], np_state['has_gauss'], np_state['cached_gaussian']))
    python = state['python']
    random.setstate(
        (python['version'], tuple(python['keys']), python['gauss']))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Run a block without moving the global generators: their state on
    exit is their state on entry."""
    state = rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def restore_rng(runner, loop: str) -> None:
    """Give a resumed run the generators its checkpoint's iteration left
    (after its data streams are open: their replay draws); warn where that
    cannot make the run repeat the uninterrupted one."""
    saved = runner.message_hub.get_info(RNG_KEY)
    if saved is None:
        runner.logger.warning(
            f'{loop}: the checkpoint holds no random generator state '
            '(written before das_mmseg saved it): dropout and the other '
            'random draws after the resume differ from the '
            'uninterrupted run\'s')
        return
    set_rng_state(saved)
    randomness = runner.cfg.get('randomness') or {}
    if get_world_size() > 1 and randomness.get('diff_rank_seed'):
        runner.logger.warning(
            f'{loop}: randomness.diff_rank_seed=True: the checkpoint '
            'holds rank 0\'s random generators, which every rank '
            'resumes with; the other ranks\' draws differ from the '
            'uninterrupted run\'s')
