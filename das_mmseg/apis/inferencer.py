"""``DASInferencer``: mmseg's inferencer, plus the clip each image was seen
as."""
from typing import List, Optional

import numpy as np
import torch
from mmengine.dataset import Compose
from mmseg.apis import MMSegInferencer

from ..engine.checkpoint.fit import check_checkpoint_file_fits
from .inference import (checked_test_pipeline, default_device,
                        preprocessed_clips)


class DASInferencer(MMSegInferencer):
    """Segmentation inferencer for DAS clip models (and image models).

    Everything :class:`mmseg.apis.MMSegInferencer` does (config or config
    file plus checkpoint, files, folders or arrays, batching, visualisation,
    ``out_dir``), with the device defaulting to the CPU when there is no CUDA
    device, and on request the clip the model saw: call with
    ``return_clip=True`` and the result dict has ``'clips'``, per image its
    frames as RGB uint8 ``(T, H, W, 3)`` at the size the test pipeline gave
    the image (one array for one image, else a list); with
    ``return_datasamples=True`` each ``SegDataSample`` carries them as
    ``clip``. The prediction is the fused one, as in ``tools/test.py``.

    Args:
        model (str | dict | Config): Config file or config.
        weights (str, optional): Checkpoint file.
        device (str, optional): Default: ``'cuda:0'`` if available, else
            ``'cpu'``.
        allow_partial (bool): Keep a model the checkpoint does not fit;
            by default such a checkpoint is refused
            (:func:`das_mmseg.engine.checkpoint.fit.check_checkpoint_fits`).
        **kwargs: ``classes``, ``palette``, ``dataset_name``, ``scope`` as for
            :class:`MMSegInferencer`.

    Example:
        >>> inferencer = DASInferencer('configs/das_demo.py',
        ...                            'work_dirs/demo/iter_300.pth')
        >>> result = inferencer('demo.png', return_clip=True)
        >>> result['predictions'].shape, result['clips'].shape
        ((180, 240), (4, 180, 240, 3))
    """

    forward_kwargs: set = MMSegInferencer.forward_kwargs | {'return_clip'}

    def __init__(self,
                 model,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 allow_partial: bool = False,
                 **kwargs) -> None:
        super().__init__(
            model, weights, device=device or default_device(), **kwargs)
        if weights is not None and not allow_partial:
            check_checkpoint_file_fits(
                self.model, weights, 'DASInferencer(..., allow_partial=True)')

    def _init_pipeline(self, cfg) -> Compose:
        """The test pipeline with its loader replaced by ``LoadCheckedImage``
        (:func:`~das_mmseg.apis.inference.checked_test_pipeline`): files and
        arrays are checked before any transform, unreadable files named."""
        return Compose(
            checked_test_pipeline(cfg.test_dataloader.dataset.pipeline))

    @torch.no_grad()
    def forward(self,
                inputs: dict,
                return_clip: bool = False,
                **kwargs) -> list:
        """Predict a collated batch; with ``return_clip`` each prediction
        gets a ``clip`` field (``(T, H, W, 3)`` RGB uint8)."""
        preds = self.model.test_step(inputs)
        if return_clip:
            for pred, frames in zip(preds,
                                    preprocessed_clips(self.model, inputs)):
                pred.clip = frames
        return preds

    def postprocess(self,
                    preds: list,
                    visualization: Optional[List[np.ndarray]],
                    return_datasample: bool = False,
                    pred_out_dir: str = '') -> dict:
        """As :meth:`MMSegInferencer.postprocess`, plus ``'clips'`` when the
        predictions carry them."""
        results = super().postprocess(preds, visualization, return_datasample,
                                      pred_out_dir)
        if return_datasample or 'clip' not in preds[0]:
            return results
        clips = [pred.clip for pred in preds]
        results['clips'] = clips[0] if len(clips) == 1 else clips
        return results
