"""Whether a DAS run can resume from a checkpoint with the settings it is
configured with now.

A DAS loop keeps its settings and progress in the message hub (key
``das_loop``), which mmengine saves in every checkpoint; a resumed run compares
them with the configured ones: a change is honoured where the run can follow
it and refused, naming the old and the new value, where it cannot.
"""
from typing import List

from .loop_settings import UNITS

STATE_VERSION = 1
# the settings that decide which samples go where
SPLIT_KEYS = ('policy_portion', 'split_seed', 'policy_dataloader')


def check_resume(saved: dict,
                 current: dict,
                 position: int,
                 unit: str,
                 source: str = 'train_cfg') -> List[str]:
    """Compare the loop settings of a checkpoint with the configured ones.

    A change is honoured where the run can follow it, and refused where it
    would be silently ignored or would make the run a different one.

    Args:
        saved (dict): The ``das_loop`` state of the checkpoint.
        current (dict): The same for the configured loop, with ``total``: the
            number of iterations (or epochs) the configured run lasts.
        position (int): The checkpoint's iteration (epoch for epoch-based
            loops).
        unit (str): ``'iters'`` or ``'epochs'``.
        source (str): Where the config states the search settings,
            ``'das_search'`` or ``'train_cfg'`` (for the messages).

    Returns:
        list[str]: One note per honoured change, for the log.

    Raises:
        ValueError: A refused change; the message names the setting, its old
            and its new value, and what to do.
    """
    keys = UNITS[unit]
    at = keys['at']

    def refuse(name: str, old, new, why: str):
        raise ValueError(
            f'Resuming at {at} {position}: {name} was {old!r} when the '
            f'checkpoint was written and is {new!r} now; {why}')

    if saved.get('version') != STATE_VERSION:
        raise ValueError(
            f'Resuming at {at} {position}: the checkpoint holds DAS loop '
            f'state version {saved.get("version")!r}, this code reads '
            f'version {STATE_VERSION}')
    if saved['loop'] != current['loop']:
        refuse(
            'train_cfg.type', saved['loop'], current['loop'],
            'an iteration-based and an epoch-based run count their phases '
            'differently; resume with the same loop')
    notes = []
    phase, switch = saved['phase'], saved['switch_point']
    old, new = saved['mode'], current['mode']
    if old != new:
        if 'train' in (old, new):
            refuse(
                f'{source}.mode', old, new,
                'a run that searches and a run that trains with a fixed '
                'policy file cannot continue each other; start a new run '
                '(load_from) instead')
        if new == 'search' and phase == 'train':
            refuse(
                f'{source}.mode', old, new,
                f'the search ended at {at} {switch}; nothing is left to '
                'search')
        notes.append(f'{source}.mode changed from {old!r} to {new!r}: '
                     'honoured')
    if new == 'train':
        if saved['policy'] != current['policy']:
            refuse(
                f'the policy of {source}.policy_file', saved['policy'],
                current['policy'],
                'the weights were trained with the old policy; resume with '
                'the same policy file or start a new run')
    else:
        search = keys['search']
        old_length, new_length = saved['search_length'], current[
            'search_length']
        if phase == 'search':
            if new_length < position:
                refuse(
                    f'{source}.{search}', old_length, new_length,
                    f'the search has already run to {at} {position}; set '
                    f'{search} >= {position} ({search}={position} ends it '
                    'now)')
            if new_length != old_length:
                notes.append(
                    f'{source}.{search} changed from {old_length} to '
                    f'{new_length}: honoured, the search ends at {at} '
                    f'{new_length}')
        elif new_length != switch:
            refuse(
                f'{source}.{search}', old_length, new_length,
                f'the search ended at {at} {switch} and the training phase '
                'began there; the phases cannot move now')
        if saved['retrain'] != current['retrain']:
            if phase == 'train':
                refuse(
                    f'{source}.retrain', saved['retrain'], current['retrain'],
                    'the search is over and the training phase already '
                    'started from the weights retrain chose')
            if current['retrain']:
                refuse(
                    f'{source}.retrain', saved['retrain'], current['retrain'],
                    'the checkpoint holds no initial weights to restart from '
                    '(they are kept only while a retrain=True search runs)')
            notes.append(f'{source}.retrain changed from True to False: '
                         'honoured, the training phase will go on from the '
                         'searched weights')
        for key in SPLIT_KEYS:
            if saved[key] == current[key]:
                continue
            if phase == 'search' or not current['retrain']:
                refuse(
                    f'{source}.{key}', saved[key], current[key],
                    'the split of the training set into the weight part and '
                    'the policy part cannot change while they are in use; '
                    'resume with the old value or start a new run')
            notes.append(
                f'{source}.{key} changed from {saved[key]!r} to '
                f'{current[key]!r}: no effect, the split is not used after '
                'the search')
        if saved['policy_interval'] != current['policy_interval']:
            notes.append(
                f'{source}.policy_interval changed from '
                f'{saved["policy_interval"]} to {current["policy_interval"]}' +
                (f': honoured from {at} {position} on' if phase ==
                 'search' else ': no effect, the search is over'))
    maximum = keys['max']
    if position > current['total']:
        refuse(
            f'train_cfg.{maximum}', saved['max_length'], current['max_length'],
            f'the run would end at {at} {current["total"]}, before the '
            f'checkpoint\'s {at} {position}')
    if saved['max_length'] != current['max_length']:
        notes.append(
            f'train_cfg.{maximum} changed from {saved["max_length"]} to '
            f'{current["max_length"]}: honoured, the run ends at {at} '
            f'{current["total"]}')
    if saved['param_scheduler'] != current['param_scheduler']:
        refuse(
            'param_scheduler', saved['param_scheduler'],
            current['param_scheduler'],
            'mmengine resumes every scheduler from the checkpoint\'s state, '
            'so the new schedule would be silently ignored; resume with the '
            'checkpoint\'s schedule, or start a new run with load_from')
    return notes
