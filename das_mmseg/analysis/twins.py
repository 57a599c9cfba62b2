"""The image twin of a clip model: the same network seeing the image once."""
import copy
from typing import Optional

from mmengine.config import ConfigDict

CLIP_MODELS = ('ClipEncoderDecoder', 'ClipImageClassifier')


def is_clip_model(model_cfg: dict) -> bool:
    """Whether a model config is a DAS clip model (segmentor or
    classifier)."""
    return str(model_cfg.get('type', '')).split('.')[-1] in CLIP_MODELS


def image_twin(model_cfg: dict) -> Optional[ConfigDict]:
    """The image baseline of a clip model config, or None for an image model.

    The clip cell is removed, T becomes 1, a ``loss_target`` is the
    reference frame's (with one frame the two objectives agree up to the
    loss's averaging), and the backbone's temporal modules are switched off
    (``temporal=None``, ``num_segments=1``): a clip model with
    one frame and no temporal modules is exactly its 2-D network (mmseg's
    ``EncoderDecoder``, mmpretrain's ``ImageClassifier``), with the same heads
    and data preprocessor. This is how ``configs/das_demo_baseline.py`` is
    made from ``configs/das_demo.py``.

    Args:
        model_cfg (dict): The ``model`` of a config.

    Returns:
        ConfigDict | None: The twin's model config; None for an image model
        (including a clip model class already configured as its own twin).
    """
    if not is_clip_model(model_cfg):
        return None
    twin = ConfigDict(copy.deepcopy(dict(model_cfg)))
    twin.clip_cell = None
    twin.num_frames = 1
    if 'loss_target' in twin:
        # one frame: the reference frame's labels are its labels
        twin.loss_target = 'reference'
    backbone = twin.get('backbone') or {}
    if 'temporal' in backbone or _is_video_backbone(backbone.get('type')):
        backbone['temporal'] = None
        backbone['num_segments'] = 1
    return None if twin == ConfigDict(model_cfg) else twin


def _is_video_backbone(name) -> bool:
    """Whether a backbone type is one of our video backbones (they insert
    temporal modules by default)."""
    from mmseg.registry import MODELS

    from das_mmseg.models.backbones.temporal_insertion import \
        VideoBackboneMixin
    registries = [MODELS]
    try:
        from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
        registries.append(MMPRETRAIN_MODELS)
    except ImportError:  # mmpretrain is optional
        pass
    if not isinstance(name, str):
        return isinstance(name, type) and issubclass(name, VideoBackboneMixin)
    for registry in registries:
        cls = registry.get(name)
        if cls is not None:
            return issubclass(cls, VideoBackboneMixin)
    return False
