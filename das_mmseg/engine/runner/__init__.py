from .das_loops import (DASEpochBasedTrainLoop, DASIterBasedTrainLoop,
                        check_resume)

__all__ = ['DASIterBasedTrainLoop', 'DASEpochBasedTrainLoop', 'check_resume']
