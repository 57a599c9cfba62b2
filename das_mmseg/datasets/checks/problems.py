"""What the data checks report: one problem of one file, and the error that
stops a run at an unusable sample."""
from dataclasses import dataclass

# the tool that lists every bad file of a split (named in the messages)
TOOL = 'tools/analysis_tools/check_dataset.py'


class DataCheckError(ValueError):
    """A dataset file that training or evaluation cannot use."""


@dataclass(frozen=True)
class FileProblem:
    """One problem of one file.

    Attributes:
        path (str): The file.
        kind (str): ``'empty file'``, ``'truncated'``, ``'corrupt'``,
            ``'unreadable'``, ``'size mismatch'``, ``'label values'`` or
            ``'label channels'``.
        detail (str): What was found and what was expected.
    """
    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f'{self.path}: {self.kind}: {self.detail}'
