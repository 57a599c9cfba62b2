"""The phases both DAS loops step through: start (fresh or resumed), the
search's α and weight steps, the switch, the training phase's steps and its
validation. The loops in :mod:`.das_loops` decide when each comes."""
import bisect
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

from mmengine.dist import broadcast, get_world_size
from mmengine.runner import set_random_seed
from torch.utils.data import DataLoader

from ..arch_step import Unrolled, arch_step
from ..optimizers import split_optim_wrappers
from ..utils import clip_cell_of, forget_key, plain, unwrap_model
from .data_streams import (EndlessBatches, build_part_loaders,
                           part_dataloader_cfgs)
from .initial_state import HUB_KEY as OLD_INITIAL_STATE_KEY
from .initial_state import INITIAL_STATE_FILE, InitialState
from .loop_settings import (DASLoopSettings, check_step_parts,
                            check_weight_schedule_ends)
from .resume_checks import STATE_VERSION, check_resume
from .rng import RNG_KEY, restore_rng, rng_state

STATE_KEY = 'das_loop'
DAS_LOSS = 'train/das_loss'
# per α step, beside das_loss: arch_step's search_diagnostics
DAS_DIAGNOSTICS = ('alpha_entropy', 'identity_pull', 'implicit_ratio')
SEARCH_SCALARS = (DAS_LOSS, ) + tuple(f'train/das_{name}'
                                      for name in DAS_DIAGNOSTICS)


class DASPhaseMachine:
    """What the iteration- and the epoch-based DAS loops share: the phases,
    the α step, the switch and the train step. ``unit`` is ``'iters'`` or
    ``'epochs'``; the subclass's ``run`` drives the phases."""

    unit = 'iters'

    def _init_das(self, runner, dataloader: Union[DataLoader, Dict],
                  max_length: int, search_length: Optional[int],
                  **settings) -> Tuple[object, Optional[dict], Optional[dict]]:
        """Check the settings and find the cell; return the configs of the
        training phase's loader and of the two parts."""
        self._runner = runner
        if 'das_search' in runner.cfg:
            raise TypeError(
                f'{type(self).__name__}: the config states its search in '
                'das_search, which DASSearchRunner writes into train_cfg, '
                'optim_wrapper and param_scheduler; build the runner with '
                "mmengine's RUNNERS.build(cfg) (the config's runner_type), as "
                'tools/train.py does, not Runner.from_cfg(cfg)')
        DASLoopSettings.check_known(type(self).__name__, self.unit, settings)
        # where the config stated the search (see DASSearchRunner)
        source = getattr(runner, 'search_settings', 'train_cfg')
        self.settings = DASLoopSettings.build(
            type(self).__name__, self.unit, max_length, search_length, source,
            **settings)
        self.phase = 'search' if self.settings.searches else 'train'
        self.alpha_steps = 0
        self.switch_point: Optional[int] = None
        self.cell = clip_cell_of(runner.model, self.settings.loop)
        self._policy_stream: Optional[EndlessBatches] = None
        self._initial_state: Optional[dict] = None
        self._initial_state_file: Optional[str] = None
        return part_dataloader_cfgs(self.settings, dataloader)

    def _build_parts(self, weight_cfg: Optional[dict],
                     policy_cfg: Optional[dict]) -> None:
        self.weight_dataloader, self.policy_dataloader = build_part_loaders(
            self.runner, self.settings, self.dataloader, weight_cfg,
            policy_cfg)
        # the loader is dropped after the search; its length stays
        self._weight_epoch_length = len(self.weight_dataloader)

    @property
    def unrolled(self) -> Optional[dict]:
        """``Unrolled``'s arguments for the second-order α step, or None."""
        return self.settings.unrolled

    # --- state ---------------------------------------------------------------

    def _position(self) -> int:
        return self._iter if self.unit == 'iters' else self._epoch

    def _state(self) -> dict:
        """Settings and progress, as plain values (runtime info)."""
        s = self.settings
        policy = getattr(self.cell, 'policy', None)
        return dict(
            version=STATE_VERSION,
            loop=s.loop,
            mode=s.mode,
            search_length=s.search_length,
            max_length=s.max_length,
            total=s.total,
            policy_interval=s.policy_interval,
            retrain=s.retrain,
            policy_portion=s.policy_portion,
            split_seed=s.split_seed,
            policy_dataloader=plain(s.policy_dataloader),
            param_scheduler=plain(self.runner.cfg.get('param_scheduler')),
            policy=None if policy is None else plain(policy.to_dict()),
            phase=self.phase,
            alpha_steps=self.alpha_steps,
            switch_point=self.switch_point,
            initial_state_file=self._initial_state_file)

    def _save_state(self) -> None:
        self.runner.message_hub.update_info(STATE_KEY, self._state())

    def _initial_state_store(self) -> InitialState:
        model = unwrap_model(self.runner.model)
        prefix = next(name + '.' for name, module in model.named_modules()
                      if module is self.cell)
        return InitialState(model, prefix, self._weight_wrapper,
                            self._weight_schedulers, self.settings.loop,
                            self.settings.key('retrain'))

    # --- starting ------------------------------------------------------------

    def _start(self) -> None:
        """Before the first iteration: settle the state (fresh or resumed),
        check the settings, keep the initial state, open the streams."""
        runner, s = self.runner, self.settings
        (self._weight_wrapper, self._policy_wrapper,
         self._weight_schedulers) = split_optim_wrappers(
             runner.optim_wrapper, runner.param_schedulers,
             runner.cfg.get('param_scheduler'), s.mode, s.loop)
        check_step_parts(s, self._policy_wrapper, self.cell)
        if s.mode == 'train':
            self._set_policy_file()
            self.switch_point = 0
        resumed = self._iter > 0 or self._epoch > 0
        if resumed:
            self._resume_state()
        elif s.searches:
            if get_world_size() > 1:
                # init_weights may draw α per rank: search from rank 0's
                for param in self.cell.arch_parameters():
                    broadcast(param.data, src=0)
            check_weight_schedule_ends(s, self._weight_schedulers,
                                       self.max_iters, self._train_iters())
            if s.retrain:
                self._initial_state = self._initial_state_store().capture()
                self._initial_state_file = InitialState.save(
                    self._initial_state, runner.work_dir)
        self._save_state()
        if self.phase == 'search':
            self._log_plan()
            if self._position() < s.search_length:
                # else the switch comes first, and opens its own stream
                self._policy_stream = EndlessBatches(
                    self.policy_dataloader, skip=self.alpha_steps)
                self._open_weight_stream()
        else:
            if not resumed:
                # the training phase of a two-stage run starts where a
                # one-command run's does: from the seed
                set_random_seed(runner.seed)
            self._open_weight_stream()
        if resumed:
            restore_rng(self.runner, self.settings.loop)

    def _resume_state(self) -> None:
        """Take the phase and progress of the checkpoint, after checking
        that this run can continue it (:func:`check_resume`)."""
        runner, s = self.runner, self.settings
        at = s.words()['at']
        position = self._position()
        saved = runner.message_hub.get_info(STATE_KEY)
        if saved is None:
            raise ValueError(
                f'{s.loop}: resuming at {at} {position} from a checkpoint '
                f'without DAS loop state (message hub key {STATE_KEY!r}); it '
                'was written by another train loop. Start a new run from it '
                'with load_from instead of resume')
        for note in check_resume(saved, self._state(), position, s.unit,
                                 s.source):
            runner.logger.info(f'{s.loop}: {note}')
        self.phase = saved['phase']
        self.alpha_steps = saved['alpha_steps']
        self.switch_point = saved['switch_point']
        self._initial_state_file = saved.get('initial_state_file')
        legacy = runner.message_hub.get_info(OLD_INITIAL_STATE_KEY)
        forget_key(runner.message_hub, OLD_INITIAL_STATE_KEY)
        if legacy is not None and self._initial_state_file is None:
            # a checkpoint of an earlier version: the state gets its file
            self._initial_state_file = InitialState.save(
                legacy, runner.work_dir)
        if self.phase == 'search' and s.restarts_after_search:
            # refuse now, not at the switch
            self._initial_state, found = self._initial_state_store().load([
                self._initial_state_file,
                osp.join(runner.work_dir, INITIAL_STATE_FILE)
            ], legacy)
            self._initial_state_file = found or self._initial_state_file
        if self.phase == 'train' and getattr(self.cell, 'policy',
                                             None) is None:
            raise ValueError(
                f'{s.loop}: the search ended at {at} {self.switch_point}, but '
                'the clip cell of the checkpoint holds no policy')

    def _log_plan(self) -> None:
        s = self.settings
        self.runner.logger.info(
            f'{s.loop}: search for {s.search_length} '
            f'{self.unit} on {len(self.weight_dataloader.dataset)} samples '
            f'(weights) and {len(self.policy_dataloader.dataset)} (policy, '
            f'one α step every {s.policy_interval} iterations); then ' +
            ('stop' if s.mode ==
             'search' else f'train for {s.max_length} {self.unit} on '
             f'{len(self.dataloader.dataset)} samples' +
             (' from the initial weights' if s.retrain else '')))

    def _set_policy_file(self) -> None:
        """Mode ``'train'``: render the policy of ``policy_file`` (or the
        cell's own, from its config or checkpoint)."""
        name, policy_file = self.settings.loop, self.settings.policy_file
        if policy_file is not None:
            try:
                self.cell.set_policy(policy_file)
            except ValueError as e:
                key = self.settings.key('policy_file')
                raise type(e)(
                    f'{name}: the policy of {key}={policy_file!r} does not '
                    f'fit the model\'s clip cell: {e}') from None
            self.runner.logger.info(
                f'{name}: training with the policy of {policy_file}')
        if getattr(self.cell, 'policy', None) is None:
            raise ValueError(
                f'{name}: mode "train" needs a policy: set '
                f'{self.settings.key("policy_file")} (e.g. the '
                'das_policy.json of a search run), or give the clip cell one')

    # --- running -------------------------------------------------------------

    def _train_step(self, batch_idx: int, data_batch: Sequence[dict]) -> None:
        """One iteration of either loop: the α step when due, then the
        weight step."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=batch_idx, data_batch=data_batch)
        self._search_step(data_batch)
        outputs = self.runner.model.train_step(
            data_batch, optim_wrapper=self._weight_wrapper)
        # before the checkpoint hook: the generators as the next iteration
        # finds them
        self.runner.message_hub.update_info(RNG_KEY, rng_state())
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=batch_idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1

    def _search_step(self, data_batch) -> None:
        """The α step of this iteration, if one is due; ``das_loss``,
        ``das_alpha_entropy`` and ``das_identity_pull`` (see
        :func:`search_diagnostics`) are in the log only at the iterations
        where they were measured."""
        hub = self.runner.message_hub
        if (self.phase == 'search'
                and self._iter % self.settings.policy_interval == 0):
            diagnostics = {}
            unrolled = None if self.unrolled is None else Unrolled(
                data_batch, self._weight_wrapper, **self.unrolled)
            loss = arch_step(self.runner.model, self._policy_wrapper,
                             next(self._policy_stream), self._iter,
                             diagnostics, unrolled)
            self.alpha_steps += 1
            self._save_state()
            hub.update_scalar(DAS_LOSS, loss)
            for name, value in diagnostics.items():
                hub.update_scalar(f'train/das_{name}', value)
        else:
            self._drop_search_scalars()

    def _drop_search_scalars(self) -> None:
        """The log processor prints every scalar of the hub at every log, the
        latest value if nothing new came: drop the search's keys so that an
        old α step's values are not reported as this iteration's
        (:func:`forget_key`)."""
        for key in SEARCH_SCALARS:
            forget_key(self.runner.message_hub, key)

    def _end_search(self) -> None:
        """Derive the policy, let the hooks export it, and start the training
        phase (restoring the initial state with ``retrain=True``)."""
        runner, s = self.runner, self.settings
        policy = self.cell.discretize()
        self.cell.set_policy(policy)
        self.phase = 'train'
        self.switch_point = self._position()
        self._drop_search_scalars()
        runner.logger.info(
            f'{s.loop}: search done at {s.words()["at"]} '
            f'{self.switch_point} ({self.alpha_steps} α steps); derived '
            f'policy: {policy.to_dict()}')
        runner.call_hook('after_das_search', policy=policy)
        # the workers of the parts are not needed any more
        self._policy_stream = None
        self.policy_dataloader = None
        if s.mode == 'search':
            self._save_state()
            return
        if s.retrain:
            self.weight_dataloader = None
            self._initial_state_store().restore(self._initial_state)
            runner.logger.info(
                f'{s.loop}: weights, weight optimizer and weight schedules '
                'restored to their initial state; training on the whole '
                f'set ({len(self.dataloader.dataset)} samples) for '
                f'{s.max_length} {self.unit}')
            set_random_seed(runner.seed)
        self._initial_state = None
        self._save_state()
        self._open_weight_stream()

    def _should_validate(self) -> bool:
        if self.runner.val_loop is None or not self.settings.validates(
                self.phase):
            return False
        position = self._position()
        done = position - self.settings.train_begin
        # dynamic_intervals counted in the training phase
        step = bisect.bisect(self.dynamic_milestones, done + 1)
        self.val_interval = self.dynamic_intervals[step - 1]
        return done >= self.val_begin and (done % self.val_interval == 0
                                           or position == self.settings.total)

    def _open_weight_stream(self) -> None:
        """Open the stream of weight batches of the phase (iteration loop;
        an epoch loop passes over its loaders epoch by epoch)."""
