"""How the command-line tools end on a known user error: one message, no
traceback.

Our checks raise errors that name the problem, the file or key and the fix;
a 10-60-line traceback of the Runner's internals around that message only
hides it. :func:`run_main` runs a tool's ``main`` and turns such an error
into ``error: <message>`` on stderr and exit status 1.
``DAS_MMSEG_TRACEBACK=1`` shows the traceback as before. Errors that are not
ours, or that signal a bug (``AssertionError``, ``AttributeError``, ...),
keep their traceback.
"""
import argparse
import logging
import os
import os.path as osp
import sys
import traceback
import warnings
from typing import Callable, Optional

#: the environment variable that shows the traceback of a user error
TRACEBACK_ENV = 'DAS_MMSEG_TRACEBACK'

#: error types our checks raise for bad input; raised elsewhere, or of other
#: types (``TypeError``, ``AttributeError``, ``KeyError``, ... are what bugs
#: raise), an error keeps its traceback
USER_ERROR_TYPES = (ValueError, OSError, RuntimeError, FloatingPointError)
PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = tuple(
    osp.join(osp.dirname(PACKAGE), folder) for folder in ('tools', 'demo'))


def is_user_error(error: BaseException) -> bool:
    """Whether ``error`` was raised by a check of das_mmseg or of one of its
    tools (the innermost frame of its traceback is in the package or the
    tools), with a type checks raise."""
    if not isinstance(error, USER_ERROR_TYPES):
        return False
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return False
    where = osp.abspath(frames[-1].filename)
    return where.startswith(PACKAGE + os.sep) or where.startswith(TOOLS)


#: Python warnings of the OpenMMLab stack that every run of our configs
#: prints and that say nothing about the run: (start of the message, why it
#: is expected). Hidden by our tools only (:func:`quiet_known_notices`),
#: never on import; any other warning is shown.
KNOWN_WARNINGS = (
    ('pkg_resources is deprecated',
     'setuptools, on importing the OpenMMLab packages'),
    ('``build_loss`` would be deprecated soon',
     "mmseg's own decode heads call build_loss"),
    ('Default ``avg_non_ignore`` is False',
     "our configs keep mmseg's (and the paper's) loss, the mean over all "
     'pixels; avg_non_ignore=True would change the loss and the numbers'),
    ('The draw is False, it means that the hook for visualization',
     "mmseg's runtime keeps the hook off until tools/test.py --show-dir "
     'turns it on'),
)
#: mmengine log records of the same kind (start of the message, why).
KNOWN_LOG_NOTICES = (
    ('The prefix is not set in metric class IoUMetric',
     "mmseg's IoUMetric has no default prefix; one would rename the logged "
     'mIoU keys'),
    ('"FileClient" will be deprecated in future',
     "mmengine's CheckpointHook builds one in every run"),
    ('"HardDiskBackend" is the alias of "LocalBackend"',
     "the same FileClient's backend"),
)


class KnownNoticeFilter(logging.Filter):
    """Drops the log records of :data:`KNOWN_LOG_NOTICES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(
            message.startswith(known) for known, _ in KNOWN_LOG_NOTICES)


def quiet_known_notices(logger: Optional[logging.Logger] = None) -> None:
    """Hide :data:`KNOWN_WARNINGS` (from now on, in this process) and, given a
    logger (a Runner's), :data:`KNOWN_LOG_NOTICES` in it. Our tools call it;
    importing das_mmseg does not."""
    for message, _ in KNOWN_WARNINGS:
        warnings.filterwarnings('ignore', message=message)
    if logger is not None and not any(
            isinstance(f, KnownNoticeFilter) for f in logger.filters):
        logger.addFilter(KnownNoticeFilter())


def run_main(main: Callable, argv: Optional[list] = None):
    """Run a tool's ``main(argv)`` with the known notices hidden
    (:func:`quiet_known_notices`); a user error (:func:`is_user_error`)
    prints ``error: <message>`` on stderr and exits with status 1."""
    quiet_known_notices()
    try:
        return main(argv)
    except Exception as error:
        if os.environ.get(TRACEBACK_ENV) or not is_user_error(error):
            raise
        print(
            f'error: {error}\n(set {TRACEBACK_ENV}=1 to see where it was '
            'raised)',
            file=sys.stderr)
        sys.exit(1)


def config_tool_parser(description: str,
                       config_help: str) -> argparse.ArgumentParser:
    """The argument parser of a tool that reads a config: the tool's
    docstring as its help, the ``config`` argument and ``--cfg-options``
    (mmengine's ``key=value`` overrides)."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help=config_help)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser
