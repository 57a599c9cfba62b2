"""The state a ``retrain=True`` search restarts the weights from.

At the switch the paper's protocol trains the final model from the weights it
started the search with. The loop keeps them — the weights of every module
but the clip cell (which keeps α and the derived policy), the weight
optimizer's state and the weight schedulers' states — in memory while it
searches, and writes them once, when the search starts, to
``<work_dir>/das_initial_state.pth`` for a resumed search to read. (They
used to travel in the message hub, so every search checkpoint carried a
second copy of the weights and the optimizer state: +50 % on the CamVid CPU
config.) The file is kept after the switch: a resume from an earlier search
checkpoint needs it again.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence

import torch
from mmengine.dist import is_main_process
from mmengine.runner import CheckpointLoader, save_checkpoint
from torch import nn

from ..checkpoint.resume import INITIAL_STATE_FILE

# where checkpoints written before the file existed keep the state
HUB_KEY = 'das_initial_state'


class InitialState:
    """Captures, saves, finds, checks and restores the initial state.

    Args:
        model (nn.Module): The unwrapped model.
        cell_prefix (str): The state-dict prefix of its clip cell, whose
            entries are left out.
        weight_wrapper (OptimWrapper): The weights' optimizer wrapper.
        schedulers (list): The weights' parameter schedulers.
        loop (str): The loop's name, for the messages.
        retrain_key (str): The config key of ``retrain``, for the messages.
    """

    def __init__(self,
                 model: nn.Module,
                 cell_prefix: str,
                 weight_wrapper,
                 schedulers: Sequence,
                 loop: str,
                 retrain_key: str = 'train_cfg.retrain') -> None:
        self.model = model
        self.cell_prefix = cell_prefix
        self.weight_wrapper = weight_wrapper
        self.schedulers = list(schedulers)
        self.loop = loop
        self.retrain_key = retrain_key

    def _weight_keys(self) -> List[str]:
        return [
            key for key in self.model.state_dict()
            if not key.startswith(self.cell_prefix)
        ]

    def capture(self) -> dict:
        """The state now, copied: ``model`` (CPU tensors), ``optimizer``
        and ``schedulers`` (their ``state_dict()``)."""
        model = {
            key: (value.detach().to('cpu', copy=True)
                  if torch.is_tensor(value) else copy.deepcopy(value))
            for key, value in self.model.state_dict().items()
            if not key.startswith(self.cell_prefix)
        }
        return dict(
            model=model,
            optimizer=copy.deepcopy(self.weight_wrapper.state_dict()),
            schedulers=[
                copy.deepcopy(s.state_dict()) for s in self.schedulers
            ])

    @staticmethod
    def save(state: dict, work_dir: str) -> str:
        """Write ``state`` to the work dir (the main process only; through
        mmengine's checkpoint writer, so the config's file backend) and
        return the file's path."""
        path = osp.abspath(osp.join(work_dir, INITIAL_STATE_FILE))
        if is_main_process():
            save_checkpoint(state, path)
        return path

    def load(self, candidates: Sequence[Optional[str]],
             hub_state: Optional[dict]) -> tuple:
        """The saved state of a resumed search and where it was found.

        Args:
            candidates (list[str | None]): Paths to try in order (the one
                the checkpoint recorded, then the work dir's).
            hub_state (dict, optional): The state a checkpoint of an earlier
                version kept in its message hub; used when no file is found.

        Returns:
            tuple: The state and its path (None for the hub's).

        Raises:
            ValueError: No state found, or one that does not fit this model
                and schedule.
        """
        tried = [path for path in dict.fromkeys(candidates) if path]
        for path in tried:
            if osp.isfile(path):
                state = CheckpointLoader.load_checkpoint(
                    path, map_location='cpu')
                self._check_fits(state, path)
                return state, path
        if hub_state is not None:
            self._check_fits(hub_state, f'message hub key {HUB_KEY!r}')
            return hub_state, None
        raise ValueError(
            f'{self.loop}: this retrain=True search holds no initial state '
            f'to retrain from after the search: {INITIAL_STATE_FILE}, '
            'written to the work dir when the search started, is at none of '
            f'{tried}; resume in the work dir of the run that started the '
            f'search, or set {self.retrain_key}=False to go on from the '
            'searched weights')

    def _check_fits(self, state: dict, where: str) -> None:
        expected = set(self._weight_keys())
        found = set(state.get('model', {}))
        schedulers = len(state.get('schedulers', []))
        if found != expected or schedulers != len(self.schedulers):
            raise ValueError(
                f'{self.loop}: the initial state of this retrain=True search '
                f'({where}) does not fit this model and schedule (weights '
                f'missing: {sorted(expected - found)[:5]}, unexpected: '
                f'{sorted(found - expected)[:5]}; {schedulers} weight '
                f'schedulers for {len(self.schedulers)}); resume with the '
                'config that started the search')

    def restore(self, state: dict) -> None:
        """Load ``state`` into the weights (not the cell's: it keeps α and
        the policy), the weight optimizer and the weight schedulers."""
        self.model.load_state_dict(state['model'], strict=False)
        self.weight_wrapper.load_state_dict(state['optimizer'])
        for scheduler, saved in zip(self.schedulers, state['schedulers']):
            scheduler.load_state_dict(saved)
