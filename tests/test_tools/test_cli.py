"""A known user error ends a tool with one message and status 1, without a
traceback (issue 19.8); ``DAS_MMSEG_TRACEBACK=1`` shows it; a bug keeps
its traceback."""
import pytest
from fixtures import run_tool

from das_mmseg.utils.cli import is_user_error

DEMO = ('configs/das/'
        'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py')


@pytest.mark.slow
def test_a_user_error_is_one_message_without_a_traceback():
    args = ['tools/train.py', DEMO, '--cfg-options', 'num_frames=8']
    proc = run_tool(args, check=False)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-2].startswith('error: --cfg-options num_frames: '
                                '"num_frames" is a variable')
    assert lines[
        -1] == '(set DAS_MMSEG_TRACEBACK=1 to see where it was raised)'
    shown = run_tool(args, env={'DAS_MMSEG_TRACEBACK': '1'}, check=False)
    assert shown.returncode != 0
    assert 'Traceback (most recent call last)' in shown.stderr
    assert 'check_cfg_options' in shown.stderr


def raise_here(error):
    raise error


def test_only_our_checks_errors_lose_their_traceback():
    from das_mmseg import launch
    for error, ours in ((ValueError('bad'), False), (AssertionError('bug'),
                                                     False)):
        try:
            raise_here(error)  # raised in this test file: not ours
        except Exception as e:
            assert is_user_error(e) is ours
    try:
        launch.check_work_dir(__file__, '--work-dir')  # a file: refused
    except NotADirectoryError as e:
        assert is_user_error(e)
    try:
        launch.check_cfg_options(None, {'x': 1})  # a bug: no config
    except TypeError as e:
        assert not is_user_error(e)
