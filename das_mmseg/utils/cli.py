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
import os
import os.path as osp
import sys
import traceback
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


def run_main(main: Callable, argv: Optional[list] = None):
    """Run a tool's ``main(argv)``; a user error (:func:`is_user_error`)
    prints ``error: <message>`` on stderr and exits with status 1."""
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
