from .das_loops import DASEpochBasedTrainLoop, DASIterBasedTrainLoop
from .loop_settings import DASLoopSettings
from .resume_checks import check_resume

__all__ = [
    'DASIterBasedTrainLoop', 'DASEpochBasedTrainLoop', 'DASLoopSettings',
    'check_resume'
]
