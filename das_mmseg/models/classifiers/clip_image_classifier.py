"""The DAS classifier: :class:`ClipImageClassifier`, mmpretrain's image
classifier reading a clip made from each image and fusing its per-frame
scores."""
from typing import List, Optional, Tuple, Union

from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor

from das_mmseg.utils.validators import check_choice
from ..clip_cells import build_clip_cell
from ..clip_length import (check_clip_length, fill_num_segments,
                           settle_num_frames)
from ..fusion import average_frames

CLASSIFIER_FUSION_MODES = ('logits', 'features')
Features = Union[Tensor, Tuple[Tensor, ...]]


@MODELS.register_module()
class ClipImageClassifier(ImageClassifier):
    """``ImageClassifier`` that classifies an image through a clip of T frames
    made from it (DAS).

    .. code:: text

     image (N, C, H, W) --clip_cell--> clip (N, T, C, H, W)
         <-- or a clip from ImageToVideo + ClipClsDataPreprocessor
     clip --flatten frame-major--> (N*T, C, H, W)
         --backbone (built for T), neck--> per-frame features
     'logits':   head on every frame, scores averaged over T (the paper)
                 --> (N, num_classes)
     'features': neck features averaged over T, one head pass
                 --> (N, num_classes)

    A drop-in for ``ImageClassifier`` in an mmpretrain config: same arguments
    plus ``clip_cell``, ``num_frames`` and ``fusion``; ``extract_feat`` returns
    image-level features (averaged over the frames). ``'logits'`` fusion uses
    the head's ``_get_loss``/``_get_predictions``, which every mmpretrain
    ``ClsHead`` has.

    T is the classifier's: stated once, as ``num_frames``, it is filled into
    the cell and a video backbone when the classifier is built (see
    :mod:`das_mmseg.models.clip_length`), and never changed afterwards.

    Args:
        backbone (dict): Backbone config; a video backbone or any 2-D backbone.
        neck (dict, optional): Neck config, e.g. ``GlobalAveragePooling``.
        head (dict, optional): Head config.
        clip_cell (dict, optional): ``ClipCell`` config that makes clips from
            plain images. Defaults to None.
        num_frames (int, optional): T. Defaults to the value the cell or
            the backbone states (older configs), else the cell's default,
            else 1.
        fusion (str): ``'logits'`` or ``'features'``. Defaults to ``'logits'``.
        pretrained, train_cfg, data_preprocessor, init_cfg: As for
        :class:`ImageClassifier`; use
            ``ClipClsDataPreprocessor`` for clips from the pipeline.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 clip_cell: Optional[dict] = None,
                 num_frames: Optional[int] = None,
                 fusion: str = 'logits',
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        check_choice('fusion', fusion, CLASSIFIER_FUSION_MODES)
        # before the backbone is built: it is built for T
        num_frames = settle_num_frames(MODELS, num_frames, clip_cell, backbone)
        super().__init__(
            backbone=fill_num_segments(MODELS, backbone, num_frames),
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.fusion = fusion
        self.num_frames = num_frames
        # after the backbone: the cell draws α from the global generator
        self.clip_cell = build_clip_cell(MODELS, clip_cell, num_frames,
                                         self.data_preprocessor)

    def make_clip(self, inputs: Tensor) -> Tensor:
        """Images ``(N, C, H, W)`` -> clips ``(N, T, C, H, W)`` (the cell, or
        the image repeated); clips pass."""
        if inputs.dim() == 5:
            return inputs
        if inputs.dim() != 4:
            raise ValueError(
                'inputs must be images (N, C, H, W) or clips (N, T, C, H, '
                f'W), got shape {tuple(inputs.shape)}')
        if self.clip_cell is None:
            return inputs.unsqueeze(1).expand(-1, self.num_frames, -1, -1, -1)
        return self.clip_cell(inputs)

    def frame_features(self,
                       inputs: Tensor,
                       stage: str = 'neck') -> Tuple[Features, int]:
        """Per-frame outputs of ``stage`` (rows ``n*T + t``) and T."""
        clip = self.make_clip(inputs)
        check_clip_length(self.backbone, clip.shape[1])
        return super().extract_feat(
            clip.flatten(0, 1), stage=stage), clip.shape[1]

    @staticmethod
    def _average(feats: Features, num_frames: int) -> Features:
        if isinstance(feats, Tensor):
            return average_frames(feats, num_frames)
        return tuple(average_frames(f, num_frames) for f in feats)

    def extract_feat(self, inputs: Tensor, stage: str = 'neck') -> Features:
        """Image-level features: the outputs of ``stage`` averaged over the
        frames of each clip.

        Args:
            inputs (Tensor): Images ``(N, C, H, W)`` or clips
                ``(N, T, C, H, W)``.
            stage (str): ``'backbone'``, ``'neck'`` or ``'pre_logits'``, as for
                :class:`ImageClassifier`.

        Returns:
            tuple[Tensor] | Tensor: As :meth:`ImageClassifier.extract_feat`
            returns for images.
        """
        return self._average(*self.frame_features(inputs, stage))

    def fused_scores(self, inputs: Tensor) -> Tensor:
        """Class scores fused over the frames: ``(N, num_classes)``."""
        if self.fusion == 'features':
            return self.head(self.extract_feat(inputs))
        feats, num_frames = self.frame_features(inputs)
        return average_frames(self.head(feats), num_frames)

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'tensor' and self.with_head:
            return self.fused_scores(inputs)
        return super().forward(inputs, data_samples, mode)

    def loss(self, inputs: Tensor, data_samples: List[DataSample]) -> dict:
        """Loss of the fused scores against the image's label."""
        if self.fusion == 'features':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        return self.head._get_loss(self.fused_scores(inputs), data_samples)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predictions from the fused scores."""
        if self.fusion == 'features':
            return self.head.predict(
                self.extract_feat(inputs), data_samples, **kwargs)
        return self.head._get_predictions(
            self.fused_scores(inputs), data_samples)
