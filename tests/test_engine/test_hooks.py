"""The DAS hooks' arguments: ``DASPolicyHook`` checks its interval; the old
``DASSearchHook`` names the das_search keys that replaced it."""
import pytest
from mmengine.registry import HOOKS

import das_mmseg  # noqa: F401
from das_mmseg.engine.hooks import DASPolicyHook, DASSearchHook


def test_policy_hook_arguments():
    with pytest.raises(ValueError, match=r'interval must be an integer >= 1'):
        DASPolicyHook(interval=0)
    assert HOOKS.get('DASPolicyHook') is DASPolicyHook


def test_old_hook_names_the_new_keys():
    with pytest.raises(
            ValueError,
            match=(r'DASSearchHook was replaced by the DAS train loop.*'
                   r'search_iters -> das_search\.search_iters; interval -> '
                   r'das_search\.policy_interval')):
        DASSearchHook(search_iters=2, interval=1)
    with pytest.raises(ValueError, match=r'search/das_first_order\.py'):
        HOOKS.build(dict(type='DASSearchHook'))
