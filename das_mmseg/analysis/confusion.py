"""Confusion matrix of a segmentor on its test set, from saved predictions or
from a checkpoint (``tools/analysis_tools/confusion_matrix.py``)."""
import os.path as osp
from typing import Iterator, Tuple

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmseg.datasets.transforms import LoadAnnotations
from torch import nn


def accumulate(matrix: np.ndarray, label: np.ndarray, pred: np.ndarray,
               ignore_index: int) -> None:
    """Add one image's pixels to ``matrix`` (rows: label, columns:
    prediction), in place; pixels labelled ``ignore_index`` are skipped.

    Args:
        matrix (np.ndarray): ``(K, K)`` int64 counts.
        label (np.ndarray): ``(H, W)`` ground-truth class ids.
        pred (np.ndarray): ``(H, W)`` predicted class ids.
        ignore_index (int): The label of unlabelled pixels.
    """
    if label.shape != pred.shape:
        raise ValueError(
            f'a prediction of shape {pred.shape} for a label map of shape '
            f'{label.shape}: predictions must be at the image\'s original '
            'size (as tools/test.py --out writes them)')
    num_classes = matrix.shape[0]
    keep = label != ignore_index
    label, pred = label[keep].astype(np.int64), pred[keep].astype(np.int64)
    if label.size and (label.max() >= num_classes or pred.max() >= num_classes
                       or min(label.min(), pred.min()) < 0):
        raise ValueError(
            f'class ids must be in [0, {num_classes}) or {ignore_index}; got '
            f'labels {np.unique(label).tolist()}, predictions '
            f'{np.unique(pred).tolist()}')
    matrix += np.bincount(
        num_classes * label + pred,
        minlength=num_classes**2).reshape(num_classes, num_classes)


def iou_per_class(matrix: np.ndarray) -> np.ndarray:
    """IoU of every class from a confusion matrix: ``TP / (TP + FP + FN)``,
    NaN for a class that is neither labelled nor predicted (as mmseg's
    IoUMetric)."""
    matrix = matrix.astype(np.float64)
    tp = np.diag(matrix)
    with np.errstate(invalid='ignore', divide='ignore'):
        return tp / (matrix.sum(0) + matrix.sum(1) - tp)


def dataset_labels(dataset) -> Iterator[Tuple[str, np.ndarray]]:
    """``(image path, label map)`` of every image of an mmseg dataset, the
    label map at the original size with the dataset's ``label_map`` and
    ``reduce_zero_label`` applied (as ``LoadAnnotations`` loads it)."""
    load = LoadAnnotations()
    for index in range(len(dataset)):
        info = dict(dataset.get_data_info(index))
        info.setdefault('seg_fields', [])
        yield info['img_path'], load(info)['gt_seg_map']


def saved_predictions(folder: str, dataset) -> Iterator[np.ndarray]:
    """The PNGs ``tools/test.py --out FOLDER`` wrote, in the dataset's order
    (``<image name>.png``)."""
    import mmcv
    for index in range(len(dataset)):
        name = osp.splitext(
            osp.basename(dataset.get_data_info(index)['img_path']))[0]
        path = osp.join(folder, name + '.png')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'no prediction {path} for image {name}: the folder must hold '
                'one PNG per test image, as tools/test.py --out writes them')
        yield mmcv.imread(path, flag='unchanged')


@torch.no_grad()
def model_predictions(model: nn.Module, dataset) -> Iterator[np.ndarray]:
    """The model's predictions ``(H, W)`` at the original size, image by
    image, through the test pipeline."""
    for index in range(len(dataset)):
        sample = model.test_step(pseudo_collate([dataset[index]]))[0]
        yield sample.pred_sem_seg.data[0].cpu().numpy()


def confusion_matrix(dataset, predictions, num_classes: int,
                     ignore_index: int) -> np.ndarray:
    """The ``(K, K)`` confusion matrix (rows: label, columns: prediction) of
    ``predictions`` (in the dataset's order) against the dataset's labels."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    count = 0
    for (_, label), pred in zip(dataset_labels(dataset), predictions):
        accumulate(matrix, label, pred, ignore_index)
        count += 1
    if count != len(dataset):
        raise ValueError(f'{count} predictions for {len(dataset)} images')
    return matrix
