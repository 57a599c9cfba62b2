"""Export and log the DAS search: the derived policy, the pictures, α.

The search itself belongs to the DAS train loop; this hook only watches it.
"""
import json
import os.path as osp
from typing import Optional

import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from das_mmseg.utils.io import atomic_write
from das_mmseg.visualization import (clip_to_rgb, draw_alpha_history,
                                     draw_clip, encode_png)
from ..utils import clip_cell_of, unwrap_model

HISTORY_KEY = 'das_alpha_history'
# the loop's scalars of each α step (DASPhaseMachine._search_step)
SEARCH_SCALARS = {
    'das_loss': 'train/das_loss',
    'alpha_entropy': 'train/das_alpha_entropy',
    'identity_pull': 'train/das_identity_pull',
    'implicit_ratio': 'train/das_implicit_ratio'
}


def _empty_history() -> dict:
    return dict(iterations=[], weights=[], magnitudes=[], diagnostics=[])


@HOOKS.register_module()
class DASPolicyHook(Hook):
    """Write the derived policy and pictures of the search, and log α.

    With a DAS train loop (``DASIterBasedTrainLoop``,
    ``DASEpochBasedTrainLoop``):

    - during the search, every ``interval`` iterations: softmax(α) per edge
      and op (``das/alpha/edge<e>/<op>``) and, when learned, the magnitudes
      (``das/magnitude/edge<e>/<op>``) go to the visualizer backends, and into
      the history of ``das_alpha.png``; at every α step, the loop's
      ``das_loss``, ``das_alpha_entropy`` and ``das_identity_pull`` (see
      :func:`das_mmseg.engine.search_diagnostics`) into the history;
    - when the search ends (the loop's ``after_das_search`` event), on the main
      process: ``<work_dir>/das_policy.json`` (the derived policy),
      ``das_alpha.png`` (softmax(α) per edge over the search, and the learned
      magnitudes' trajectories) with its data ``das_alpha.json`` (the op
      names, the recorded iterations, softmax(α) and magnitudes there, and
      the diagnostics of every α step), ``das_clip.png`` (the clip the
      policy makes of a training image, frames left to right, the reference
      frame framed white), the policy's mean pixel displacement per frame
      (``das/displacement/frame<t>``), and a warning when every frame of the
      policy is the image.

    The history lives in the message hub's runtime info (``das_alpha_history``
    in every checkpoint), so a resumed search draws the whole search. The hook
    does nothing in a test or validation run.

    Args:
        interval (int): Record α every ``interval`` iterations of the search
            (and at its end).
        policy_filename (str): Name of the policy file in the work dir.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 10,
                 policy_filename: str = 'das_policy.json') -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError('DASPolicyHook: interval must be an integer >= 1'
                             f', but got {interval!r}')
        self.interval = interval
        self.policy_filename = policy_filename

    def before_train(self, runner) -> None:
        if not hasattr(runner.train_loop, 'phase'):
            raise TypeError(
                'DASPolicyHook watches a DAS search, but the train loop is '
                f'{type(runner.train_loop).__name__}; set train_cfg=dict('
                'type="DASIterBasedTrainLoop" (or "DASEpochBasedTrainLoop"), '
                'search_iters=..., ...)')
        if runner.iter == 0 and runner.epoch == 0:
            # a fresh run (a resumed one has the checkpoint's history)
            runner.message_hub.update_info(HISTORY_KEY, _empty_history())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if getattr(runner.train_loop, 'phase', None) != 'search':
            return
        done = runner.iter + 1
        self._record_diagnostics(runner, done)
        if done == 1 or done % self.interval == 0:
            self._record(runner, done)

    @staticmethod
    def _record_diagnostics(runner, done: int) -> None:
        """Keep the α step's scalars of this iteration, if it had one (the
        loop drops them from the hub at iterations without)."""
        scalars = runner.message_hub.log_scalars
        if SEARCH_SCALARS['das_loss'] not in scalars:
            return
        history = runner.message_hub.get_info(HISTORY_KEY) or _empty_history()
        steps = history.setdefault('diagnostics', [])  # older checkpoints
        if steps and steps[-1]['iteration'] == done:
            return
        step = dict(iteration=done)
        for name, key in SEARCH_SCALARS.items():
            if key in scalars:
                step[name] = float(scalars[key].current())
        steps.append(step)
        runner.message_hub.update_info(HISTORY_KEY, history)

    def _record(self, runner, done: int) -> None:
        """Keep softmax(α) (and learned magnitudes) after ``done`` iterations,
        and send them to the visualizer backends."""
        cell = clip_cell_of(runner.model, 'DASPolicyHook')
        history = runner.message_hub.get_info(HISTORY_KEY) or _empty_history()
        if history['iterations'] and history['iterations'][-1] == done:
            return
        weights = cell.op_weights().detach().float().cpu()
        learned = bool(list(cell.magnitude_parameters()))
        magnitudes = (
            cell.magnitudes.detach().float().cpu() if learned else None)
        history['iterations'].append(done)
        history['weights'].append(weights)
        if learned:
            history['magnitudes'].append(magnitudes)
        runner.message_hub.update_info(HISTORY_KEY, history)
        scalars = {}
        for e in range(weights.shape[0]):
            for o, op in enumerate(cell.op_names):
                scalars[f'das/alpha/edge{e}/{op}'] = weights[e, o].item()
                if learned:
                    scalars[f'das/magnitude/edge{e}/{op}'] = magnitudes[
                        e, o].item()
        runner.visualizer.add_scalars(scalars, step=done)

    def after_das_search(self, runner, policy) -> None:
        """Export the derived ``policy`` and the pictures of the search."""
        self._record(runner, runner.iter)
        if not is_main_process():
            return
        work_dir = runner.work_dir
        path = osp.join(work_dir, self.policy_filename)
        policy.save(path)
        written = [path]
        history = runner.message_hub.get_info(HISTORY_KEY)
        cell = clip_cell_of(runner.model, 'DASPolicyHook')
        if history and history['iterations']:
            rgb = draw_alpha_history(
                history['iterations'],
                torch.stack(history['weights']).numpy(),
                cell.op_names,
                magnitudes=(torch.stack(history['magnitudes']).numpy()
                            if history['magnitudes'] else None))
            written.append(osp.join(work_dir, 'das_alpha.png'))
            atomic_write(written[-1], encode_png(rgb))
            runner.visualizer.add_image('das_alpha', rgb, step=runner.iter)
            written.append(osp.join(work_dir, 'das_alpha.json'))
            atomic_write(
                written[-1],
                json.dumps(self._history_data(history, cell)).encode())
        clip = self._sample_clip(runner, cell)
        montage = draw_clip(clip_to_rgb(clip, cell.space), cell.ref_frame)
        written.append(osp.join(work_dir, 'das_clip.png'))
        atomic_write(written[-1], encode_png(montage))
        runner.visualizer.add_image('das_clip', montage, step=runner.iter)
        runner.logger.info(
            f'DASPolicyHook: derived policy written to {path}; pictures: '
            f'{", ".join(written[1:])}')
        self._log_displacement(runner, policy, tuple(clip.shape[-2:]))

    @staticmethod
    def _history_data(history: dict, cell) -> dict:
        """``das_alpha.json``: what ``das_alpha.png`` draws, and the
        diagnostics of every α step."""
        return dict(
            ops=list(cell.op_names),
            iterations=list(history['iterations']),
            weights=[w.tolist() for w in history['weights']],
            magnitudes=[m.tolist() for m in history['magnitudes']],
            diagnostics=list(history.get('diagnostics', [])))

    @staticmethod
    def _sample_clip(runner, cell) -> torch.Tensor:
        """(T, C, H, W): the cell's clip of the first training sample."""
        model = unwrap_model(runner.model)
        dataset = runner.train_dataloader.dataset
        data = model.data_preprocessor(pseudo_collate([dataset[0]]), False)
        inputs = data['inputs'] if isinstance(data, dict) else data[0]
        with torch.no_grad():
            return cell(inputs[:1].float())[0].cpu()

    @staticmethod
    def _log_displacement(runner, policy, image_size) -> None:
        """How far the policy's frames are from the image, and a warning when
        they are the image."""
        # Policy.displacement / is_identity come with the per-edge policies
        if hasattr(policy, 'displacement'):
            shift = [float(d) for d in policy.displacement(image_size)]
            runner.logger.info(
                'DASPolicyHook: mean pixel displacement per frame at '
                f'{image_size[0]}x{image_size[1]}: ' +
                ', '.join(f'{d:.2f}' for d in shift))
            runner.visualizer.add_scalars(
                {
                    f'das/displacement/frame{t}': d
                    for t, d in enumerate(shift)
                },
                step=runner.iter)
        if hasattr(policy, 'is_identity') and policy.is_identity():
            runner.logger.warning(
                'DASPolicyHook: the derived policy is the identity: every '
                'frame of the clip is the image, so training with it trains '
                'on T copies of each image; the search found no augmentation '
                'worth keeping (see das_alpha.png)')
