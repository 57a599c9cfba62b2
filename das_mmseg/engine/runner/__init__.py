from .das_loops import DASEpochBasedTrainLoop, DASIterBasedTrainLoop
from .loop_settings import DASLoopSettings
from .resume_checks import check_resume
from .search_config import compose_search
from .search_runner import DASSearchRunner

__all__ = [
    'DASIterBasedTrainLoop', 'DASEpochBasedTrainLoop', 'DASLoopSettings',
    'check_resume', 'compose_search', 'DASSearchRunner'
]
