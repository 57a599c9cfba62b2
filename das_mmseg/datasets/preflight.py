"""A run's data files checked before its first iteration.

Two depths:

- *headers* (:func:`check_sample_headers`): the first 64 KB and the last
  kilobyte of each image and label file: empty, missing, truncated or
  unidentifiable files, label maps with several channels, label maps whose
  size differs from their image's, and 16-bit label maps (decoded, since
  mmseg casts them to uint8, turning values above 255 into other classes).
  Fast enough for a whole training split (about 0.1 ms a file from the page
  cache).
- *full* (:func:`~das_mmseg.datasets.checks.check_sample`): every file decoded
  with the decoder's warnings watched and every label value judged; the
  depth of ``tools/analysis_tools/check_dataset.py``, for the val and test
  splits, which are otherwise read only at the first evaluation, after the
  training.

During training the rest is caught per sample: ``LoadCheckedImage`` (damaged
image data) and ``CheckSegLabels`` (label values). :func:`preflight_split`
runs one split; :class:`~das_mmseg.engine.hooks.DataPreflightHook` runs them
before training and testing.
"""
from typing import List, Optional, Tuple

import mmcv
from mmengine import fileio

from .checks.config_split import split_check_settings
from .checks.image_files import (END_MARKER_WINDOW, decode_image_strict,
                                 missing_end_marker)
from .checks.labels import label_map_problems
from .checks.problems import TOOL, FileProblem
from .checks.sample import check_sample
from .checks.scan import dataset_samples
from .loading import PNG_MAGIC, declared_image_size

HEAD_BYTES = 64 * 1024  # enough for a JPEG's EXIF block before its size
LABEL_MODES = ('1', 'L', 'P', 'I', 'I;16', 'I;16B', 'I;16L', 'F')


def _head_and_tail(path: str, backend_args: Optional[dict]) -> bytes:
    """The first :data:`HEAD_BYTES` and last ``END_MARKER_WINDOW`` bytes of a
    local file (the whole file from another backend, or when small)."""
    if backend_args or '://' in path:
        return fileio.get(path, backend_args=backend_args)
    with open(path, 'rb') as f:
        head = f.read(HEAD_BYTES)
        size = f.seek(0, 2)
        if size <= HEAD_BYTES:
            return head
        f.seek(max(HEAD_BYTES, size - END_MARKER_WINDOW))
        return head + f.read()


def _header(path: str, backend_args: Optional[dict], what: str):
    """(bytes, problems) of one file's head and tail, judged for presence,
    emptiness and truncation."""
    try:
        data = _head_and_tail(path, backend_args)
    except Exception as e:  # missing, no permission, remote error
        return None, [
            FileProblem(path, 'unreadable', f'{type(e).__name__}: '
                        f'{e}')
        ]
    if not data:
        return None, [FileProblem(path, 'empty file', '0 bytes')]
    marker = missing_end_marker(data)
    if marker:
        return data, [
            FileProblem(
                path, 'truncated', f'the {what} file lacks the '
                f'{marker} (it was cut short)')
        ]
    return data, []


def _label_mode(data: bytes) -> Optional[str]:
    from PIL import Image
    try:
        import io
        with Image.open(io.BytesIO(data)) as img:
            return img.mode
    except Exception:
        return None


def check_sample_headers(
        data_info: dict,
        num_classes: int,
        ignore_index: int = 255,
        backend_args: Optional[dict] = None,
        imdecode_backend: str = 'pillow') -> List[FileProblem]:
    """The header-depth check of one sample (see the module docstring).

    Args:
        data_info (dict): ``img_path``, optionally ``seg_map_path``,
            ``reduce_zero_label``, ``label_map``.
        num_classes (int): Number of classes (for 16-bit label maps).
        ignore_index (int): The ignore index.
        backend_args (dict, optional): File backend arguments.
        imdecode_backend (str): How ``LoadAnnotations`` decodes label maps.

    Returns:
        list[FileProblem]: Empty when nothing was found.
    """
    img_path = data_info['img_path']
    img_data, problems = _header(img_path, backend_args, 'image')
    img_size = None
    if img_data is not None and not problems:
        img_size = declared_image_size(img_data)
        if img_size is None:  # not a Pillow format: OpenCV decides
            problems += decode_image_strict(
                fileio.get(img_path, backend_args=backend_args), img_path)[1]
    seg_path = data_info.get('seg_map_path')
    if not seg_path:
        return problems
    seg_data, seg_problems = _header(seg_path, backend_args, 'label')
    problems += seg_problems
    if seg_data is None or seg_problems:
        return problems
    mode = _label_mode(seg_data)
    if mode is None:
        return problems + [
            FileProblem(seg_path, 'unreadable',
                        'not an image format Pillow identifies')
        ]
    if mode not in LABEL_MODES:
        return problems + [
            FileProblem(
                seg_path, 'label channels',
                f'a {mode} image: a label map holds one class id per pixel '
                '(H, W); convert a colour-coded map to class ids first')
        ]
    seg_size = declared_image_size(seg_data)
    if img_size is not None and seg_size is not None and img_size != seg_size:
        problems.append(
            FileProblem(
                seg_path, 'size mismatch',
                f'label map {seg_size[0]}x{seg_size[1]} (HxW) but image '
                f'{img_path} is {img_size[0]}x{img_size[1]}'))
    if seg_data[:8] == PNG_MAGIC and seg_data[24] == 16:  # 16-bit samples
        seg = mmcv.imfrombytes(
            fileio.get(seg_path, backend_args=backend_args),
            flag='unchanged',
            backend=imdecode_backend).squeeze()
        problems += label_map_problems(
            seg, seg_path, num_classes, ignore_index,
            data_info.get('reduce_zero_label', False),
            data_info.get('label_map'))
    return problems


def preflight_split(cfg,
                    split: str,
                    full: bool,
                    rank: int = 0,
                    world_size: int = 1) -> Tuple[List[FileProblem], int]:
    """Check this rank's share (every ``world_size``-th sample from ``rank``)
    of a config's split.

    Args:
        cfg (Config): The run's config.
        split (str): 'train', 'val' or 'test'.
        full (bool): Decode everything (:func:`check_sample`) instead of the
            header check (:func:`check_sample_headers`).
        rank (int): This process's rank.
        world_size (int): Number of processes sharing the check.

    Returns:
        tuple: The problems, and the number of samples this rank checked
        (0 when the config has no such split).
    """
    found = split_check_settings(cfg, split)
    if found is None:
        return [], 0
    dataset, kwargs = found
    kwargs['num_classes'] = kwargs['num_classes'] or 0
    samples = dataset_samples(dataset)[rank::world_size]
    check = check_sample if full else check_sample_headers
    problems = []
    for sample in samples:
        problems += check(sample, **kwargs)
    return problems, len(samples)


def problems_message(split: str,
                     problems: List[FileProblem],
                     config: str = 'CONFIG',
                     listed: int = 20) -> str:
    """The error of a split with bad files: up to ``listed`` of them, and how
    to list and fix them all."""
    shown = '\n'.join(f'  {p}' for p in problems[:listed])
    more = (f'\n  ... and {len(problems) - listed} more'
            if len(problems) > listed else '')
    return (f'the {split} split has {len(problems)} unusable file(s); found '
            f'before the run started, nothing was trained:\n{shown}{more}\n'
            'Fix: replace or re-convert the files (label values: correct '
            'them, or map them to the ignore index with the dataset\'s '
            'label_map / reduce_zero_label). '
            f'`python {TOOL} {config} --split {split}` lists '
            'every problem of a split; default_hooks.data_preflight=None '
            'skips this check.')


__all__ = ['check_sample_headers', 'preflight_split', 'problems_message']
