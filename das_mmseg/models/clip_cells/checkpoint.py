"""How a clip cell travels in checkpoints: its discrete policy and magnitude
seed as extra state, and the magnitudes of older checkpoints converted on
load."""
import json
import warnings
from typing import Any, Union

import torch
from torch import Tensor

from das_mmseg.augment import Policy, PolicyError, num_edges
from .magnitudes import logits_of_magnitudes, magnitudes_from_logits

#: the state-dict entry of the cell's extra state (torch's suffix)
EXTRA_STATE_KEY = '_extra_state'
EXTRA_STATE_VERSION = 2
POLICY_HINT = ('--cfg-options model.clip_cell.policy=<work_dir>/'
               'das_policy.json')


def encode_cell_state(state: dict) -> Tensor:
    """A cell's extra state as a uint8 tensor of its UTF-8 JSON.

    A tensor, not the dict itself: under DDP mmengine's Runner broadcasts
    every ``state_dict()`` entry after ``init_weights``, which only tensors
    survive. The bytes are zero-padded to a power of two (at least 4096) so
    that every rank's tensor has the same length even where ranks hold
    different magnitude seeds; it still loads with ``weights_only=True``.

    Args:
        state (dict): JSON-serialisable state.

    Returns:
        Tensor: (L,) uint8, L a power of two >= 4096.
    """
    data = json.dumps(state, sort_keys=True).encode('utf-8')
    length = max(4096, 1 << (len(data) - 1).bit_length())
    out = torch.zeros(length, dtype=torch.uint8)
    out[:len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return out


def decode_cell_state(state: Union[Tensor, dict]) -> dict:
    """The dict of :func:`encode_cell_state` (a dict is returned as is).

    Raises:
        ValueError: ``state`` is neither, or holds no ``"policy"`` entry.
    """
    if torch.is_tensor(state) and state.dtype == torch.uint8:
        raw = bytes(state.detach().cpu().tolist()).rstrip(b'\0')
        try:
            state = json.loads(raw.decode('utf-8'))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError('the checkpoint\'s clip cell state is not the '
                             f'JSON of a cell state ({e})') from None
    if not isinstance(state, dict) or 'policy' not in state:
        raise ValueError(
            'the checkpoint\'s clip cell state must hold a "policy" entry, '
            f'got {state!r}')
    return state


class CellCheckpointMixin:
    """Saving and loading of :class:`ClipCell`: the extra state (policy,
    magnitude seed) and the magnitudes in the cell's own form.

    The host cell has ``_policy``, ``_policy_from_config`` (a policy the
    config gave wins over a checkpoint's), ``_set_policy``, ``op_names``,
    ``ops``, ``num_frames``, ``ref_frame``, ``num_nodes``,
    ``magnitude_seed``, ``magnitude_range`` and ``learn_magnitudes``.
    """

    def get_extra_state(self) -> Tensor:
        """The discrete policy (None: relaxed) and the magnitude seed, as a
        uint8 tensor of their JSON (see :func:`encode_cell_state`)."""
        return encode_cell_state(
            dict(
                version=EXTRA_STATE_VERSION,
                policy=None
                if self._policy is None else self._policy.to_dict(),
                magnitude_seed=self.magnitude_seed,
                learned_magnitudes=self.learn_magnitudes))

    def set_extra_state(self, state: Any) -> None:
        """Restore the policy of a checkpoint, unless the config gave one
        (then the config's wins, with a warning)."""
        state = decode_cell_state(state)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always')
                policy = (None if state['policy'] is None else
                          Policy.from_dict(state['policy']))
            for warning in caught:
                warnings.warn(f'the checkpoint\'s policy: {warning.message}')
            if policy is not None:
                policy.check_compatible(self.op_names, self.num_frames,
                                        self.ref_frame)
        except PolicyError as e:
            raise PolicyError(
                f'the checkpoint\'s clip cell policy does not fit this cell: '
                f'{e}') from None
        seed = state.get('magnitude_seed')
        if seed is not None:
            self.magnitude_seed = seed
        if self._policy_from_config:
            if policy != self._policy:
                theirs = 'relaxed' if policy is None else ('policy\n' +
                                                           policy.describe())
                warnings.warn(
                    'ClipCell: the config\'s policy (model.clip_cell.policy) '
                    f'overrides the checkpoint\'s ({theirs}); rendering\n'
                    f'{self._policy.describe()}')
            return
        self._set_policy(policy)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys,
                              error_msgs) -> None:
        own = [key for key in state_dict if key.startswith(prefix)]
        if own and prefix + EXTRA_STATE_KEY not in state_dict:
            warnings.warn(
                f'ClipCell: the checkpoint holds a clip cell ({prefix}*) but '
                'no policy state (it predates it); the cell keeps ' +
                ('its config policy' if self.
                 _policy is not None else 'rendering the relaxed mixture') +
                '. To test or use a '
                'model trained with a derived policy, pass that policy: '
                f'{POLICY_HINT}')
            # what the cell has, so a strict load reports nothing else
            state_dict[prefix + EXTRA_STATE_KEY] = self.get_extra_state()
        self._convert_magnitudes(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def _convert_magnitudes(self, state_dict: dict, prefix: str) -> None:
        """Turn the checkpoint's magnitudes into this cell's form: the fixed
        buffer ``magnitude_values`` (E, K), the learned logits
        ``magnitude_logit`` (E, K), or the per-op logits (K, ) of checkpoints
        from before per-edge magnitudes (broadcast to every edge)."""
        shape = (num_edges(self.num_nodes), len(self.ops))
        logit_key = prefix + 'magnitude_logit'
        values_key = prefix + 'magnitude_values'
        values = state_dict.get(values_key)
        if torch.is_tensor(values) and not bool(
                torch.isfinite(values.detach().cpu()).all()):
            raise ValueError(
                f'the checkpoint\'s {values_key} holds non-finite '
                'magnitudes; the checkpoint is damaged')
        logits = state_dict.get(logit_key)
        if logits is None or tuple(logits.shape) not in (shape[1:], shape):
            return  # the cell's own form, or a mismatch torch reports
        logits = logits.detach().float().cpu()
        if not bool(torch.isfinite(logits).all()):
            raise ValueError(
                f'the checkpoint\'s {logit_key} holds non-finite values; the '
                'checkpoint is damaged')
        if tuple(logits.shape) == shape:  # learned per-edge magnitudes
            if self.learn_magnitudes:
                return
            values = magnitudes_from_logits(logits, self.magnitude_range.cpu())
        else:
            # per-op logits were learned within the op's bounds
            bounds = torch.tensor([op.bounds for op in self.ops])
            per_op = magnitudes_from_logits(logits, bounds)
            values = per_op.expand(shape).clone()
            warnings.warn(
                f'ClipCell: the checkpoint\'s {logit_key} has shape '
                f'{tuple(logits.shape)}: one learned magnitude per op, from '
                'before per-edge magnitudes (expected '
                f'{shape}). Its values '
                f'{dict(zip(self.op_names, per_op.tolist()))} are used on '
                'every edge; the relaxed cell now sums its edges, so α means '
                'something else than when it was saved. A model trained with '
                f'a derived policy needs that policy: {POLICY_HINT}')
        del state_dict[logit_key]
        if self.learn_magnitudes:
            state_dict[logit_key] = logits_of_magnitudes(
                values, self.magnitude_range)
        else:
            state_dict[values_key] = values
