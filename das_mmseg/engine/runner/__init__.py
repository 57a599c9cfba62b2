from .das_loops import (DASEpochBasedTrainLoop, DASIterBasedTrainLoop,
                        check_resume, split_optim_wrappers)

__all__ = [
    'DASIterBasedTrainLoop', 'DASEpochBasedTrainLoop', 'check_resume',
    'split_optim_wrappers'
]
