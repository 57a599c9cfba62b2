"""The DAS segmentor: :class:`ClipEncoderDecoder`, mmseg's encoder-decoder
reading a clip made from each image and fusing its per-frame predictions.

One class (about 400 lines): the mmseg entry points it overrides
(``loss``, ``predict``, ``encode_decode``, ``slide_inference``, ...) share
the clip and fusion steps, so they stay together; what it reads from the
metainfo is :mod:`.clip_metainfo`, fusion arithmetic :mod:`..fusion`, T
:mod:`..clip_length`.
"""
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList, add_prefix)
from torch import Tensor

from das_mmseg.utils.validators import check_choice
from ..clip_cells import build_clip_cell
from ..clip_length import (check_clip_length, fill_num_segments,
                           settle_num_frames)
from ..fusion import (average_features, average_frames, check_fusion_mode,
                      fuse_aligned)
from .clip_metainfo import metainfo_affines, valid_region, window_metainfo

# what the loss compares (see ClipEncoderDecoder)
LOSS_TARGETS = ('reference', 'warped')


class FramePass(NamedTuple):
    """The backbone's output on the frames of a batch of clips, and what fusion
    needs besides."""
    # per-frame features, each (N*T, C_i, H_i, W_i), frame-major rows
    feats: Tuple[Tensor, ...]
    num_frames: int  # T
    size: Tuple[int, int]  # (H, W) of the frames
    # (N, T, 2, 3) frame affines, only for 'aligned' fusion
    affines: Optional[Tensor]
    # (N, 1, H, W) image content of the frames (0 on padding), None for all
    valid: Optional[Tensor]


@MODELS.register_module()
class ClipEncoderDecoder(EncoderDecoder):
    """Encoder-decoder that segments an image through a clip of T frames made
    from it (DAS).

    .. code:: text

     image (N, C, H, W) --clip_cell--> clip (N, T, C, H, W)
         <-- or a clip from ImageToVideo + ClipSegDataPreProcessor
     clip --flatten frame-major--> (N*T, C, H, W)
         --backbone (built for T)[--neck]--> per-frame features
     per-frame features --fusion over T + decode head--> (N, K, h, w)
         --loss against the image's label / predict

    ``fusion`` (see :mod:`das_mmseg.models.fusion`): ``'logits'`` runs every
    frame through each head and averages the logits (the paper); ``'features'``
    averages every scale's features over T before one pass of each head;
    ``'aligned'`` warps every frame's logits back by the inverse of its affine
    before averaging, and needs the affines: a clip cell with a discrete
    geometric policy, or ``frame_affines`` in the clips' metainfo
    (``PackSegInputs(meta_keys=(..., 'frame_affines'))``). With T = 1 all three
    equal the plain :class:`EncoderDecoder`. Heads are mmseg's stock decode
    heads, unchanged: ``'features'`` calls their ``loss``/``predict``; the
    other modes call ``forward`` and ``loss_by_feat``/``predict_by_feat``.

    Inputs are plain images ``(N, C, H, W)``, turned into clips by
    ``clip_cell`` on the device (or, without a cell, repeated ``num_frames``
    times), or clips ``(N, T, C, H, W)`` from the pipeline, used as they are.
    The label always belongs to the reference frame, i.e. the original image.

    T is the segmentor's: stated once, as ``num_frames``, it is filled into
    the cell's ``num_frames`` and a video backbone's ``num_segments`` when the
    segmentor is built, and never changed afterwards (see
    :mod:`das_mmseg.models.clip_length`). The cell's normalisation is filled
    from the data preprocessor in the same way.

    Args:
        backbone (dict): Backbone config; a video backbone (temporal modules)
            or any 2-D backbone, which then processes the frames independently.
        decode_head (dict): Decode head config.
        clip_cell (dict, optional): ``ClipCell`` config that makes clips from
            plain images. Defaults to None.
        num_frames (int, optional): T. Defaults to the value the cell or
            the backbone states (older configs), else the cell's default,
            else 1.
        fusion (str): ``'logits'``, ``'features'``, ``'aligned'`` or
            ``'reference'``. Defaults to ``'logits'``.
        loss_target (str): ``'reference'`` (the paper): the fused logits
            against the reference frame's labels. ``'warped'`` (beyond the
            paper): every frame's logits against the labels moved as the
            frame's pixels were (:meth:`ClipCell.render_maps`: a single-warp
            frame's labels warped with its affine, a blending frame's the
            same blend, soft), a KL divergence averaged over the label mass
            (pixels from outside the image or with ignored labels carry none),
            with the head's ``loss_weight``; a geometric op is then not
            charged for misalignment, only for what it does to the
            prediction. Read such a model with ``fusion='reference'`` (any
            policy) or ``'aligned'`` (single-warp policies).
        neck, auxiliary_head, train_cfg, test_cfg,
        data_preprocessor, pretrained, init_cfg: As for
            :class:`EncoderDecoder`; use ``ClipSegDataPreProcessor`` for clips
            from the pipeline.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 clip_cell: OptConfigType = None,
                 num_frames: Optional[int] = None,
                 fusion: str = 'logits',
                 neck: OptConfigType = None,
                 auxiliary_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None,
                 loss_target: str = 'reference'):
        # before the backbone is built: it is built for T
        num_frames = settle_num_frames(MODELS, num_frames, clip_cell, backbone)
        super().__init__(
            backbone=fill_num_segments(MODELS, backbone, num_frames),
            decode_head=decode_head,
            neck=neck,
            auxiliary_head=auxiliary_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            pretrained=pretrained,
            init_cfg=init_cfg)
        self.fusion = check_fusion_mode(fusion)
        check_choice('loss_target', loss_target, LOSS_TARGETS)
        if loss_target == 'warped' and (clip_cell is None
                                        or fusion == 'features'):
            raise ValueError(
                "loss_target='warped' moves the labels with the clip cell "
                "and needs every frame's logits: give a clip_cell and a "
                "fusion other than 'features' (got clip_cell="
                f'{clip_cell!r}, fusion={fusion!r})')
        self.loss_target = loss_target
        self.num_frames = num_frames
        # after the backbone, as always: the cell draws α from the global
        # generator, so the order keeps every seeded run's numbers
        self.clip_cell = build_clip_cell(MODELS, clip_cell, num_frames,
                                         self.data_preprocessor)

    # ---- clip and features --------------------------------------------------

    def make_clip(
        self, inputs: Tensor, batch_img_metas: Sequence[dict]
    ) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
        """Turn a batch into clips, with the frame affines and validity that
        ``'aligned'`` fusion needs.

        Args:
            inputs (Tensor): Images ``(N, C, H, W)`` or clips
                ``(N, T, C, H, W)``, normalised.
            batch_img_metas (Sequence[dict]): Metainfo per sample; clips from
                the pipeline carry ``frame_affines`` ``(T, 2, 3)`` for the
                image of ``img_shape``.

        Returns:
            tuple: clip ``(N, T, C, H, W)``; affines ``(N, T, 2, 3)`` (None
            unless fusion is ``'aligned'``); valid ``(N, 1, H, W)``, where the
            frames hold image content (None: everywhere).
        """
        aligned = self.fusion == 'aligned'
        if inputs.dim() == 5:
            if not aligned:
                return inputs, None, None
            affines = metainfo_affines(inputs, batch_img_metas)
            return inputs, affines, valid_region(inputs, batch_img_metas)
        if inputs.dim() != 4:
            raise ValueError(
                'inputs must be images (N, C, H, W) or clips (N, T, C, H, '
                f'W), got shape {tuple(inputs.shape)}')
        # the repeated clip: every frame is the image
        if self.clip_cell is None:
            clip = inputs.unsqueeze(1).expand(-1, self.num_frames, -1, -1, -1)
            affines = torch.eye(
                2, 3, device=inputs.device).expand(inputs.shape[0],
                                                   self.num_frames, 2, 3)
            return clip, (affines if aligned else None), None
        clip = self.clip_cell(inputs)
        if not aligned:
            return clip, None, None
        affines = self.clip_cell.frame_affines(inputs.shape[0],
                                               tuple(inputs.shape[-2:]))
        if affines is None:
            raise ValueError(
                "fusion='aligned' needs each frame's affine, but the clip "
                "cell's frames are not single warps of the image (the relaxed "
                'mixture, or a policy with non-geometric ops); set a discrete '
                'geometric policy with clip_cell.set_policy(), or use '
                "fusion='logits'")
        # The cell warps the padded batch itself, so every frame pixel that
        # maps into the image is image content.
        return clip, affines.to(inputs), None

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Per-frame features of clips.

        Args:
            inputs (Tensor): Clips ``(N, T, C, H, W)``.

        Returns:
            tuple[Tensor]: Backbone (and neck) outputs on the ``N*T`` frames,
            each ``(N*T, C_i, H_i, W_i)``, row ``n*T + t`` for frame ``t`` of
            sample ``n``.

        Raises:
            ValueError: The clips' T is not the one the backbone's temporal
                modules were built for (:func:`check_clip_length`).
        """
        if inputs.dim() != 5:
            raise ValueError(
                'extract_feat takes clips (N, T, C, H, W), got shape '
                f'{tuple(inputs.shape)}; make_clip() turns images into clips')
        check_clip_length(self.backbone, inputs.shape[1])
        return super().extract_feat(inputs.flatten(0, 1))

    def frame_pass(self, inputs: Tensor,
                   batch_img_metas: Sequence[dict]) -> FramePass:
        """Clip, then backbone on all frames."""
        clip, affines, valid = self.make_clip(inputs, batch_img_metas)
        return FramePass(
            self.extract_feat(clip), clip.shape[1], tuple(clip.shape[-2:]),
            affines, valid)

    # ---- fusion -------------------------------------------------------------

    def fused_logits(self, head: nn.Module, frames: FramePass) -> Tensor:
        """One head's logits fused over the frames: ``(N, K, h, w)``
        (``(N, K, H, W)`` for ``'aligned'``)."""
        if self.fusion == 'features':
            return head.forward(
                average_features(frames.feats, frames.num_frames))
        logits = head.forward(frames.feats)  # (N*T, K, h, w)
        # averaging commutes with the bilinear upsampling the head does
        # afterwards
        if self.fusion == 'logits':
            return average_frames(logits, frames.num_frames)
        if self.fusion == 'reference':
            return logits.unflatten(0, (-1, frames.num_frames))[:,
                                                                self.ref_frame]
        logits = resize(
            logits,
            size=frames.size,
            mode='bilinear',
            align_corners=head.align_corners)
        return fuse_aligned(
            logits.unflatten(0, (-1, frames.num_frames)), frames.affines,
            frames.valid)

    @property
    def ref_frame(self) -> int:
        """The reference frame (the image): the cell's, else the middle."""
        if self.clip_cell is not None:
            return self.clip_cell.ref_frame
        return self.num_frames // 2

    def _warped_loss(self, head: nn.Module, frames: FramePass,
                     data_samples: SampleList) -> dict:
        """``loss_target='warped'``: every frame's logits against its own
        labels (see the class docstring)."""
        logits = head.forward(frames.feats)  # (N*T, K, h, w)
        labels = torch.stack(
            [sample.gt_sem_seg.data for sample in data_samples])
        classes = torch.arange(logits.shape[1], device=labels.device)
        onehot = (labels == classes.view(1, -1, 1, 1)).to(logits.dtype)
        targets = self.clip_cell.render_maps(onehot)  # (N, T, K, H, W)
        logits = resize(
            logits,
            size=labels.shape[-2:],
            mode='bilinear',
            align_corners=head.align_corners)
        log_p = F.log_softmax(
            logits, dim=1).unflatten(0, (-1, frames.num_frames))
        divergence = targets * (targets.clamp(min=1e-12).log() - log_p)
        loss = divergence.sum() / targets.sum().clamp(min=1.0)
        weight = getattr(head.loss_decode, 'loss_weight', 1.0)
        return dict(loss_warped=weight * loss)

    def _head_loss(self, head: nn.Module, frames: FramePass,
                   data_samples: SampleList) -> dict:
        if self.loss_target == 'warped':
            return self._warped_loss(head, frames, data_samples)
        if self.fusion == 'features':
            return head.loss(
                average_features(frames.feats, frames.num_frames),
                data_samples, self.train_cfg)
        return head.loss_by_feat(self.fused_logits(head, frames), data_samples)

    def _auxiliary_heads(self) -> Iterator[Tuple[str, nn.Module]]:
        """``(loss prefix, head)`` of every auxiliary head, named as by
        :class:`EncoderDecoder`."""
        if not self.with_auxiliary_head:
            return
        if isinstance(self.auxiliary_head, nn.ModuleList):
            yield from ((f'aux_{i}', head)
                        for i, head in enumerate(self.auxiliary_head))
        else:
            yield 'aux', self.auxiliary_head

    # ---- mmseg entry points -------------------------------------------------

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of the fused predictions against the reference frame's
        (the image's) labels.

        Args:
            inputs (Tensor): Images ``(N, C, H, W)`` or clips
                ``(N, T, C, H, W)``.
            data_samples (list[SegDataSample]): With ``gt_sem_seg`` of the
                image.

        Returns:
            dict[str, Tensor]: ``decode.*`` and ``aux*.*`` losses, as for
            :class:`EncoderDecoder`.
        """
        frames = self.frame_pass(inputs,
                                 [sample.metainfo for sample in data_samples])
        losses = add_prefix(
            self._head_loss(self.decode_head, frames, data_samples), 'decode')
        for prefix, head in self._auxiliary_heads():
            losses.update(
                add_prefix(
                    self._head_loss(head, frames, data_samples), prefix))
        return losses

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Fused segmentation logits ``(N, K, H, W)`` at the input size."""
        frames = self.frame_pass(inputs, batch_img_metas)
        if self.fusion == 'features':
            return self.decode_head.predict(
                average_features(frames.feats, frames.num_frames),
                batch_img_metas, self.test_cfg)
        return self.decode_head.predict_by_feat(
            self.fused_logits(self.decode_head, frames), batch_img_metas)

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """As :meth:`EncoderDecoder.predict`, for images ``(N, C, H, W)`` or
        clips ``(N, T, C, H, W)``."""
        if data_samples is not None:
            batch_img_metas = [sample.metainfo for sample in data_samples]
        else:
            size = inputs.shape[-2:]
            batch_img_metas = [
                dict(
                    ori_shape=size,
                    img_shape=size,
                    pad_shape=size,
                    padding_size=[0, 0, 0, 0])
            ] * inputs.shape[0]
        return self.postprocess_result(
            self.inference(inputs, batch_img_metas), data_samples)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Fused decode-head logits without post-processing:
        ``(N, K, h, w)``."""
        metas = [
            sample.metainfo for sample in data_samples
        ] if data_samples is not None else [dict(
            img_shape=inputs.shape[-2:])] * inputs.shape[0]
        return self.fused_logits(self.decode_head,
                                 self.frame_pass(inputs, metas))

    def slide_inference(self, inputs: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Sliding-window inference over images or clips: every frame of a clip
        is cropped at the same window.

        As :meth:`EncoderDecoder.slide_inference`; in addition each window's
        metainfo gets the window's own ``img_shape`` (for every sample, without
        touching the caller's dicts) and ``frame_affines`` re-expressed for the
        window, so ``'aligned'`` fusion stays exact on crops. (Padding inside a
        window is not masked.)

        Args:
            inputs (Tensor): ``(N, C, H, W)`` or ``(N, T, C, H, W)``.
            batch_img_metas (list[dict]): Metainfo per sample.

        Returns:
            Tensor: Logits ``(N, K, H, W)``.
        """
        h_stride, w_stride = self.test_cfg.stride
        h_crop, w_crop = self.test_cfg.crop_size
        h_img, w_img = inputs.shape[-2:]
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = inputs.new_zeros(
            (inputs.shape[0], self.out_channels, h_img, w_img))
        count = inputs.new_zeros((inputs.shape[0], 1, h_img, w_img))
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y2 = min(h_idx * h_stride + h_crop, h_img)
                x2 = min(w_idx * w_stride + w_crop, w_img)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                crop = inputs[..., y1:y2, x1:x2]
                crop_metas = [
                    window_metainfo(meta, crop.shape[-2:], (y1, x1))
                    for meta in batch_img_metas
                ]
                logits = self.encode_decode(crop, crop_metas)
                preds += F.pad(logits, (x1, w_img - x2, y1, h_img - y2))
                count[..., y1:y2, x1:x2] += 1
        return preds / count
