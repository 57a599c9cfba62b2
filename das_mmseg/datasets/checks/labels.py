"""Checks of label maps: decoded as ``LoadAnnotations`` decodes them, their
values judged on the class ids training sees (after ``reduce_zero_label``
and ``label_map``)."""
from typing import Dict, List, Optional, Tuple

import mmcv
import numpy as np

from .image_files import missing_end_marker
from .problems import FileProblem


def mapped_label_values(
        values: np.ndarray,
        reduce_zero_label: bool = False,
        label_map: Optional[Dict[int, int]] = None) -> np.ndarray:
    """The class ids ``LoadAnnotations`` makes of raw label values.

    mmseg's ``LoadAnnotations`` casts the decoded map to uint8, then with
    ``reduce_zero_label`` turns 0 into 255 and every other value v into v - 1,
    then applies ``label_map`` (old id -> new id). Applying the same steps to
    the distinct values of a map (not to every pixel) is enough to know which
    class ids a label file yields.

    Args:
        values (np.ndarray): Raw values (any integer dtype).
        reduce_zero_label (bool): The dataset's ``reduce_zero_label``.
        label_map (dict, optional): The dataset's ``label_map``.

    Returns:
        np.ndarray: uint8 array of the same shape: the values training sees.
    """
    out = values.astype(np.uint8)
    if reduce_zero_label:
        out[out == 0] = 255
        out = out - 1
        out[out == 254] = 255
    if label_map:
        before = out.copy()
        for old_id, new_id in label_map.items():
            out[before == old_id] = new_id
    return out


def allowed_labels(num_classes: int, ignore_index: int) -> str:
    """``'0..10 and the ignore index 255'``."""
    return (f'0..{num_classes - 1} (the {num_classes} classes) and the '
            f'ignore index {ignore_index}')


def out_of_range(seg: np.ndarray, num_classes: int,
                 ignore_index: int) -> Tuple[np.ndarray, np.ndarray]:
    """The distinct values of a class-id map outside ``[0, num_classes)``
    that are not the ignore index, with their pixel counts.

    Args:
        seg (np.ndarray): Class ids, any shape and integer dtype.
        num_classes (int): Number of classes.
        ignore_index (int): The ignore index.

    Returns:
        tuple[np.ndarray, np.ndarray]: values and counts, both empty for a
        clean map (found with two comparisons, no sort).
    """
    bad = ((seg < 0) | (seg >= num_classes)) & (seg != ignore_index)
    if not bad.any():
        return np.zeros(0, seg.dtype), np.zeros(0, np.int64)
    return np.unique(seg[bad], return_counts=True)


def label_value_problem(
        path: str,
        values: np.ndarray,
        counts: np.ndarray,
        num_classes: int,
        ignore_index: int,
        file_values: Optional[Dict[int,
                                   list]] = None) -> Optional[FileProblem]:
    """Describe out-of-range label values (see :func:`out_of_range`).

    Args:
        path (str): The label file.
        values (np.ndarray): The bad class values training would see.
        counts (np.ndarray): Their pixel counts.
        num_classes (int): Number of classes.
        ignore_index (int): The ignore index.
        file_values (dict, optional): class value -> the file's value(s), when
            ``reduce_zero_label`` / ``label_map`` changed them.

    Returns:
        FileProblem | None: None when ``values`` is empty.
    """
    if len(values) == 0:
        return None
    shown = []
    for value, count in zip(values[:10].tolist(), counts[:10].tolist()):
        raw = (file_values or {}).get(value)
        source = f', file value {"/".join(map(str, raw))}' if raw else ''
        shown.append(f'{value} ({count} pixels{source})')
    more = f' and {len(values) - 10} more' if len(values) > 10 else ''
    return FileProblem(
        path, 'label values', f'class value(s) {", ".join(shown)}{more}; '
        f'allowed are {allowed_labels(num_classes, ignore_index)}')


def decode_label(
        data: bytes, path: str, imdecode_backend: str
) -> Tuple[Optional[np.ndarray], List[FileProblem]]:
    """Decode a label map as ``LoadAnnotations`` does, before its uint8 cast;
    return the ``(H, W)`` map (None if unusable) and the problems."""
    problems = []
    marker = missing_end_marker(data)
    if marker:
        problems.append(
            FileProblem(path, 'truncated',
                        f'{len(data)} bytes without the {marker}'))
    try:
        seg = mmcv.imfrombytes(
            data, flag='unchanged', backend=imdecode_backend)
        reason = f'{imdecode_backend} cannot decode it'
    except Exception as e:
        seg, reason = None, f'{type(e).__name__}: {e}'
    if seg is None:
        if not marker:
            problems.append(FileProblem(path, 'unreadable', reason))
        return None, problems
    seg = seg.squeeze()
    if seg.ndim != 2:
        problems.append(
            FileProblem(
                path, 'label channels',
                f'shape {seg.shape}: a label map holds one class id per '
                'pixel (H, W); convert a colour-coded map to class ids first'))
        return None, problems
    return seg, problems


def label_map_problems(seg: np.ndarray, path: str, num_classes: int,
                       ignore_index: int, reduce_zero_label: bool,
                       label_map: Optional[dict]) -> List[FileProblem]:
    """Problems of a decoded label map's values, judged on the class ids
    ``LoadAnnotations`` makes of them."""
    problems = []
    if seg.dtype in (np.uint8, np.uint16):
        raw_counts = np.bincount(seg.ravel())  # much faster than a sort
        raw_values = np.flatnonzero(raw_counts)
        raw_counts = raw_counts[raw_values]
    else:
        raw_values, raw_counts = np.unique(seg, return_counts=True)
    wide = (raw_values > 255) | (raw_values < 0)
    if wide.any():
        problems.append(
            FileProblem(
                path, 'label values',
                f'file value(s) {raw_values[wide][:10].tolist()} do not fit '
                'in uint8: mmseg casts label maps to uint8, which turns them '
                'into other classes'))
        raw_values, raw_counts = raw_values[~wide], raw_counts[~wide]
    # map the distinct values, not the pixels, as LoadAnnotations would
    mapped = mapped_label_values(raw_values, reduce_zero_label, label_map)
    values, _ = out_of_range(mapped, num_classes, ignore_index)
    counts = np.array([raw_counts[mapped == v].sum() for v in values])
    file_values = {
        int(v): raw_values[mapped == v].tolist()
        for v in values if raw_values[mapped == v].tolist() != [v]
    }
    bad = label_value_problem(path, values, counts, num_classes, ignore_index,
                              file_values)
    return problems + ([bad] if bad else [])


def label_file_values(values: np.ndarray, reduce_zero_label: bool,
                      label_map: Optional[dict]) -> Dict[int, list]:
    """class value -> the uint8 file values ``LoadAnnotations`` turns into it,
    for the values it changed."""
    if not len(values) or (not reduce_zero_label and not label_map):
        return {}
    raw = np.arange(256)
    mapped = mapped_label_values(raw, reduce_zero_label, label_map)
    return {
        int(v): raw[mapped == v].tolist()
        for v in values.tolist() if raw[mapped == v].tolist() != [v]
    }
