"""``check_resume``: a resumed DAS run honours the changed settings it can
follow, with a message, and refuses the ones it cannot, saying why."""
import copy
import re

import pytest

from das_mmseg.engine.runner import check_resume

SAVED = dict(
    version=1,
    loop='DASIterBasedTrainLoop',
    mode='search_and_train',
    search_length=4,
    max_length=6,
    total=10,
    policy_interval=1,
    retrain=True,
    policy_portion=0.5,
    split_seed=0,
    policy_dataloader=None,
    param_scheduler=dict(model=[dict(type='PolyLR', end=6)], policy=[]),
    policy=None,
    phase='search',
    alpha_steps=2,
    switch_point=None)
AFTER_SWITCH = dict(SAVED, phase='train', switch_point=4, alpha_steps=4)


def changed(state, **changes):
    new = copy.deepcopy(state)
    new.update(changes)
    if 'search_length' in changes or 'max_length' in changes:
        new['total'] = (
            new['search_length'] +
            new['max_length'] if new['retrain'] else new['max_length'])
    return new


@pytest.mark.parametrize(
    'saved, current, position, note',
    [
        (SAVED, SAVED, 2, None),
        (SAVED, changed(SAVED, search_length=8), 2,
         r'search_iters changed from 4 to 8: honoured, the search ends at '
         r'iteration 8'),
        # the search ends at once
        (SAVED, changed(SAVED, search_length=3), 3, r'from 4 to 3: honoured'),
        (SAVED, changed(SAVED, policy_interval=2), 2,
         r'policy_interval changed from 1 to 2: honoured from iteration 2'),
        (AFTER_SWITCH, changed(AFTER_SWITCH, policy_interval=2), 5,
         r'no effect, the search is over'),
        (SAVED, changed(SAVED, max_length=2), 3,
         r'max_iters changed from 6 to 2: honoured, the run ends at '
         r'iteration 6'),
        (AFTER_SWITCH, changed(AFTER_SWITCH, split_seed=1), 5,
         r'split_seed changed from 0 to 1: no effect'),
        (SAVED, changed(SAVED, retrain=False, total=6), 2,
         r'retrain changed from True to False: honoured'),
        (SAVED, changed(SAVED, mode='search', total=4), 2,
         r"mode changed from 'search_and_train' to 'search': honoured"),
    ])
def test_resume_honours_what_the_run_can_follow(saved, current, position,
                                                note):
    notes = check_resume(saved, current, position, 'iters')
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and re.search(note, notes[0]), notes


@pytest.mark.parametrize('saved, current, position, message', [
    (SAVED, changed(SAVED, search_length=2), 3,
     r'search_iters was 4 .* is 2 now; the search has already run to '
     r'iteration 3; set search_iters >= 3'),
    (AFTER_SWITCH, changed(AFTER_SWITCH, search_length=5), 5,
     r'search_iters was 4 .* is 5 now; the search ended at iteration 4'),
    (AFTER_SWITCH, changed(AFTER_SWITCH, max_length=1), 6,
     r'max_iters was 6 .* is 1 now; the run would end at iteration 5, '
     r"before the checkpoint's iteration 6"),
    (SAVED, changed(SAVED, split_seed=1), 2,
     r'split_seed was 0 .* is 1 now; the split .* cannot change'),
    (SAVED, changed(SAVED, policy_portion=0.25), 2,
     r'policy_portion was 0.5 .* is 0.25 now'),
    (SAVED, changed(SAVED, policy_dataloader=dict(batch_size=1)), 2,
     r"policy_dataloader was None .* is \{'batch_size': 1\} now"),
    (changed(AFTER_SWITCH, retrain=False),
     changed(AFTER_SWITCH, retrain=False,
             split_seed=2), 5, r'split_seed was 0 .* is 2 now'),
    (changed(SAVED, retrain=False), SAVED, 2,
     r'retrain was False .* is True now; the checkpoint holds no '
     r'initial weights'),
    (AFTER_SWITCH, changed(AFTER_SWITCH, retrain=False), 5,
     r'retrain was True .* is False now; the search is over'),
    (SAVED, changed(SAVED, mode='train'), 2,
     r"mode was 'search_and_train' .* is 'train' now"),
    (AFTER_SWITCH, changed(AFTER_SWITCH,
                           mode='search'), 5, r'nothing is left to search'),
    (SAVED, changed(SAVED, param_scheduler=dict(
        model=[], policy=[])), 2, r'param_scheduler was .* silently ignored'),
    (SAVED, changed(SAVED, loop='DASEpochBasedTrainLoop'), 2,
     r"train_cfg.type was 'DASIterBasedTrainLoop'"),
    (changed(SAVED, version=0), SAVED, 2, r'state version 0'),
    (changed(AFTER_SWITCH, mode='train', policy=dict(a=1)),
     changed(AFTER_SWITCH, mode='train',
             policy=dict(a=2)), 5, r'the policy of train_cfg.policy_file was'),
])
def test_resume_refuses_what_it_cannot_follow(saved, current, position,
                                              message):
    with pytest.raises(ValueError, match=message):
        check_resume(saved, current, position, 'iters')


def test_resume_messages_count_epochs_for_the_epoch_loop():
    with pytest.raises(
            ValueError, match=r'search_epochs was 4 .* set search_epochs'):
        check_resume(SAVED, changed(SAVED, search_length=1), 2, 'epochs')
