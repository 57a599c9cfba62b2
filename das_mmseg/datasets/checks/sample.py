"""The full check of one sample: its image and label files read and decoded
completely, every problem reported."""
from typing import List, Optional, Tuple

from mmengine import fileio

from .image_files import decode_image_strict
from .labels import decode_label, label_map_problems
from .problems import FileProblem


def check_sample(data_info: dict,
                 num_classes: int,
                 ignore_index: int = 255,
                 backend_args: Optional[dict] = None,
                 imdecode_backend: str = 'pillow') -> List[FileProblem]:
    """Read one sample's image and label map completely and report every
    problem.

    Args:
        data_info (dict): As a seg dataset lists it: ``img_path``,
            ``seg_map_path`` and optionally ``reduce_zero_label``,
            ``label_map``.
        num_classes (int): Number of classes.
        ignore_index (int): The ignore index. Defaults to 255.
        backend_args (dict, optional): File backend arguments of the dataset.
        imdecode_backend (str): How ``LoadAnnotations`` decodes label maps.
            Defaults to 'pillow', mmseg's default.

    Returns:
        list[FileProblem]: Empty when the sample is fine.
    """
    img_path = data_info['img_path']
    img_bytes, problems = _read(img_path, backend_args)
    img = None
    if img_bytes is not None:
        img, decoded = decode_image_strict(img_bytes, img_path)
        problems += decoded
    seg_path = data_info.get('seg_map_path')
    if not seg_path:
        return problems
    seg_bytes, read = _read(seg_path, backend_args)
    if seg_bytes is None:
        return problems + read
    seg, decoded = decode_label(seg_bytes, seg_path, imdecode_backend)
    problems += decoded
    if seg is None:
        return problems
    if img is not None and img.shape[:2] != seg.shape:
        problems.append(
            FileProblem(
                seg_path, 'size mismatch',
                f'label map {seg.shape[0]}x{seg.shape[1]} (HxW) but image '
                f'{img_path} is {img.shape[0]}x{img.shape[1]}'))
    return problems + label_map_problems(
        seg, seg_path, num_classes, ignore_index,
        data_info.get('reduce_zero_label', False), data_info.get('label_map'))


def _read(path: str,
          backend_args: Optional[dict]) -> Tuple[Optional[bytes], list]:
    """A file's bytes, or None and the problem (missing, empty, no access)."""
    try:
        data = fileio.get(path, backend_args=backend_args)
    except Exception as e:  # a missing file, a permission, a remote error
        return None, [
            FileProblem(path, 'unreadable', f'{type(e).__name__}: {e}')
        ]
    if not data:
        return None, [FileProblem(path, 'empty file', '0 bytes')]
    return data, []
