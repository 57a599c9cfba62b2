# Each model family registers on import; one line per subpackage.
from . import backbones  # noqa: F401
from . import clip_cell  # noqa: F401
from . import temporal  # noqa: F401
from . import classifiers, data_preprocessor, fusion, segmentors  # noqa: F401
