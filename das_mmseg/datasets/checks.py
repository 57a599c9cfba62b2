"""Checks of a segmentation dataset's files: images that decode completely,
label maps of the image's size holding only class ids and the ignore index.

Two ways to use them:

- ``tools/analysis_tools/check_dataset.py CONFIG --split train`` reads every
  image and label of a split (:func:`check_dataset`) and lists each bad file;
  run it before a long job.
- :class:`CheckSegLabels`, a pipeline step placed right after
  ``LoadAnnotations``, stops training and evaluation at the first bad sample
  with the file named, instead of an ``IndexError: Target 200 is out of
  bounds`` iterations later (training) or silently dropped pixels
  (``IoUMetric`` histograms only count values in ``[0, num_classes)``). With
  ``check_files=True`` it also runs the tool's full per-file check on every
  sample it loads.
"""
import contextlib
import os
import os.path as osp
import sys
import tempfile
from dataclasses import dataclass
from multiprocessing import Pool
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmseg.registry import TRANSFORMS

TOOL = 'tools/analysis_tools/check_dataset.py'

# libjpeg and libpng report damaged data on stderr and still return pixels
DECODER_DAMAGE = ('Corrupt JPEG data', 'Premature end of JPEG file',
                  'incomplete', 'CRC error', 'Invalid')
JPEG_MAGIC, JPEG_END = b'\xff\xd8', b'\xff\xd9'
PNG_MAGIC, PNG_END = b'\x89PNG', b'IEND'
# encoders may pad a file after its end marker; a cut file has no marker here
END_MARKER_WINDOW = 1024


class DataCheckError(ValueError):
    """A dataset file that training or evaluation cannot use."""


@dataclass(frozen=True)
class FileProblem:
    """One problem of one file.

    Attributes:
        path (str): The file.
        kind (str): ``'empty file'``, ``'truncated'``, ``'corrupt'``,
            ``'unreadable'``, ``'size mismatch'``, ``'label values'`` or
            ``'label channels'``.
        detail (str): What was found and what was expected.
    """
    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f'{self.path}: {self.kind}: {self.detail}'


def missing_end_marker(data: bytes) -> Optional[str]:
    """Name the end marker a JPEG or PNG file lacks, or None.

    A file cut short (an interrupted copy or download) lacks the marker its
    format ends with; some decoders return the decoded part and fill the rest
    with grey without an error.

    Args:
        data (bytes): The whole file, or at least its first 8 and last
            ``END_MARKER_WINDOW`` bytes.

    Returns:
        str | None: e.g. ``'JPEG end marker FFD9'``; None when the file has
        its marker or is of another format.
    """
    tail = data[-END_MARKER_WINDOW:]
    if data.startswith(JPEG_MAGIC) and JPEG_END not in tail:
        return 'JPEG end marker FFD9'
    if data.startswith(PNG_MAGIC) and PNG_END not in tail:
        return 'PNG end chunk IEND'
    return None


def file_head_and_tail(path: str) -> Optional[bytes]:
    """The first 8 and the last ``END_MARKER_WINDOW`` bytes of a local file
    (None if it is not a local file): enough for
    :func:`missing_end_marker` without reading the file again."""
    try:
        with open(path, 'rb') as f:
            head = f.read(8)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(8, size - END_MARKER_WINDOW))
            return head + f.read()
    except OSError:
        return None


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[List[str]]:
    """Collect what native libraries (libjpeg, libpng, OpenCV) write to file
    descriptor 2 while the block runs; the text is in the yielded list after
    the block.

    Decoders report damaged data there and still return an image; this is the
    only way to see it. Python's own ``sys.stderr`` is flushed first so
    nothing of it is captured.
    """
    sys.stderr.flush()
    captured: List[str] = []
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode(errors='replace'))


def decode_image_strict(
        data: bytes,
        path: str) -> Tuple[Optional[np.ndarray], List[FileProblem]]:
    """Decode an image completely, as ``LoadImageFromFile`` (OpenCV) does, and
    report what a lenient decode hides.

    Args:
        data (bytes): The file's content.
        path (str): The file, for the report.

    Returns:
        tuple: The image ``(H, W[, C])`` or None when it cannot be decoded,
        and the problems found (empty, truncated, corrupt, unreadable).
    """
    if not data:
        return None, [FileProblem(path, 'empty file', '0 bytes')]
    problems = []
    marker = missing_end_marker(data)
    if marker:
        problems.append(
            FileProblem(
                path, 'truncated', f'{len(data)} bytes without the {marker} '
                '(the file was cut short, e.g. by an interrupted copy)'))
    with captured_native_stderr() as messages:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    message = ' '.join(messages[0].split())
    if img is None:
        if marker:  # the usual reason, already reported
            return None, problems
        problems.append(
            FileProblem(
                path, 'unreadable', 'OpenCV cannot decode it' +
                (f' ({message})' if message else
                 ' (not an image, or a format OpenCV does not read)')))
        return None, problems
    if any(m in message for m in DECODER_DAMAGE) and not marker:
        problems.append(
            FileProblem(path, 'corrupt',
                        f'decoded with damaged data: "{message}"'))
    elif message and not any(m in message for m in DECODER_DAMAGE):
        sys.stderr.write(messages[0])  # not ours to judge: pass it on
    if img.size == 0:
        problems.append(
            FileProblem(path, 'unreadable', f'0-sized image {img.shape}'))
    return img, problems


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
    seg, decoded = _decode_label(seg_bytes, seg_path, imdecode_backend)
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


def _decode_label(
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


def dataset_samples(dataset) -> List[dict]:
    """The distinct samples of a (possibly wrapped) dataset, in order.

    Args:
        dataset: An mmengine ``BaseDataset`` or dataset wrapper (anything with
            ``__len__`` and ``get_data_info``).

    Returns:
        list[dict]: One data info per distinct (image, label) pair.
    """
    seen, samples = set(), []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        key = (info.get('img_path'), info.get('seg_map_path'))
        if key not in seen:
            seen.add(key)
            samples.append(info)
    return samples


def _check_one(args) -> List[FileProblem]:
    return check_sample(*args)


def check_dataset(samples: Sequence[dict],
                  num_classes: int,
                  ignore_index: int = 255,
                  backend_args: Optional[dict] = None,
                  imdecode_backend: str = 'pillow',
                  workers: int = 0) -> List[FileProblem]:
    """Check every sample (see :func:`check_sample`).

    Args:
        samples (Sequence[dict]): Data infos, e.g. from
            :func:`dataset_samples`.
        num_classes (int): Number of classes.
        ignore_index (int): The ignore index. Defaults to 255.
        backend_args (dict, optional): File backend arguments.
        imdecode_backend (str): Label decoding backend. Defaults to 'pillow'.
        workers (int): Worker processes; 0 checks in this process.

    Returns:
        list[FileProblem]: Every problem, in sample order.
    """
    jobs = [(s, num_classes, ignore_index, backend_args, imdecode_backend)
            for s in samples]
    if workers <= 0:
        results = map(_check_one, jobs)
        return [p for problems in results for p in problems]
    with Pool(workers) as pool:
        results = pool.imap(_check_one, jobs, chunksize=8)
        return [p for problems in results for p in problems]


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Stop at the first sample a segmentor cannot learn from or be scored on,
    naming its file.

    Place it right after ``LoadAnnotations`` in training and test pipelines.
    It raises :class:`DataCheckError` when

    - the label map holds a value outside ``[0, num_classes)`` that is not the
      ignore index (after the dataset's ``reduce_zero_label`` and
      ``label_map``, as ``LoadAnnotations`` applied them);
    - the label map is not one class id per pixel, or its size differs from
      the image's (``ori_shape``);
    - the image decoded to nothing, or its file lacks the JPEG/PNG end marker
      (a truncated file some decoders fill with grey silently).

    These checks cost a min/max of the label map and a read of the image's
    last kilobyte. With ``check_files=True`` every sample's image and label
    files are also decoded again completely, with the decoder's warnings
    watched (:func:`check_sample`): that catches JPEGs with damaged data that
    decode into garbage without an error, at the price of a second decode.

    Keys read: ``gt_seg_map`` and ``seg_map_path`` (without a label map, as
    in inference pipelines, only the image is checked), ``img``,
    ``img_path``, ``ori_shape``, ``reduce_zero_label``, ``label_map``.
    Modified keys: none.

    Args:
        num_classes (int): Number of classes of the model and the dataset.
        ignore_index (int): The label value ignored by the loss and the metric.
            Defaults to 255.
        check_files (bool): Also run the full per-file check of
            ``tools/analysis_tools/check_dataset.py`` on every sample.
            Defaults to False.
        backend_args (dict, optional): File backend arguments for
            ``check_files``. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 ignore_index: int = 255,
                 check_files: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        if isinstance(
                num_classes,
                bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                'CheckSegLabels: num_classes must be a positive int (the '
                f'dataset\'s class count), got {num_classes!r}')
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise ValueError('CheckSegLabels: ignore_index must be an int '
                             f'(255 in mmseg), got {ignore_index!r}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.check_files = check_files
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Raise :class:`DataCheckError` for a bad sample; return ``results``
        unchanged otherwise."""
        seg_path = results.get('seg_map_path', '<label map>')
        problems = []
        if self.check_files:
            problems += check_sample(results, self.num_classes,
                                     self.ignore_index, self.backend_args)
        img = results.get('img')
        img_path = results.get('img_path')
        if img is not None and np.asarray(img).size == 0:
            problems.append(
                FileProblem(img_path, 'unreadable',
                            f'decoded to a 0-sized image {img.shape}'))
        if img_path and not self.check_files:
            data = file_head_and_tail(img_path)
            marker = data is not None and missing_end_marker(data)
            if marker:
                problems.append(
                    FileProblem(
                        img_path, 'truncated',
                        f'the file lacks the {marker}: it was cut short '
                        '(the decoder filled in the missing part)'))
        seg = results.get('gt_seg_map')
        if seg is None:  # inference: the pipeline loads no label map
            pass
        elif seg.ndim != 2:
            problems.append(
                FileProblem(
                    seg_path, 'label channels',
                    f'shape {seg.shape}: expected one class id per pixel'))
        else:
            problems += self._size_and_values(results, seg, seg_path)
        if problems:
            raise DataCheckError(self._message(problems))
        return results

    def _size_and_values(self, results, seg, seg_path) -> List[FileProblem]:
        problems = []
        ori_shape = results.get('ori_shape')
        if ori_shape is not None and tuple(ori_shape[:2]) != seg.shape:
            problems.append(
                FileProblem(
                    seg_path, 'size mismatch',
                    f'label map {seg.shape[0]}x{seg.shape[1]} (HxW) but image '
                    f'{results.get("img_path")} is '
                    f'{ori_shape[0]}x{ori_shape[1]}'))
        values, counts = out_of_range(seg, self.num_classes, self.ignore_index)
        bad = label_value_problem(
            seg_path, values, counts, self.num_classes, self.ignore_index,
            _file_values(values, results.get('reduce_zero_label', False),
                         results.get('label_map')))
        if bad is not None:
            problems.append(bad)
        return problems

    def _message(self, problems: List[FileProblem]) -> str:
        lines = '\n'.join(f'  {p}' for p in problems)
        fixes = []
        kinds = {p.kind for p in problems}
        if 'label values' in kinds:
            fixes.append(
                'correct the label file, or give the value a class (raise '
                'num_classes in the model and CheckSegLabels) or map it to '
                f'the ignore index {self.ignore_index} with the dataset\'s '
                'label_map / reduce_zero_label')
        if kinds - {'label values'}:
            fixes.append('replace or re-convert the file')
        return (f'CheckSegLabels: a sample cannot be used:\n{lines}\n'
                f'Fix: {"; ".join(fixes)}. `python {TOOL} CONFIG --split '
                'train` (and val) lists every such file of a dataset.')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index}, '
                f'check_files={self.check_files})')


def _file_values(values: np.ndarray, reduce_zero_label: bool,
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


def _walk_datasets(ds_cfg) -> Iterator[dict]:
    """Every dataset config inside a (possibly wrapped) dataset config."""
    stack = [ds_cfg]
    while stack:
        ds = stack.pop()
        if not isinstance(ds, dict):
            continue
        yield ds
        stack.append(ds.get('dataset'))
        stack.extend(ds.get('datasets') or [])


def _pipeline_step(ds_cfg: dict, name: str) -> Optional[dict]:
    """The first pipeline step of type ``name`` in a dataset config."""
    for ds in _walk_datasets(ds_cfg):
        for step in ds.get('pipeline') or []:
            if isinstance(step, dict) and step.get('type') == name:
                return step
    return None


def split_check_settings(cfg, split: str) -> Optional[Tuple[object, dict]]:
    """The dataset of a config's split (built without pipelines: the files
    are what is checked) and what its samples are checked against; None when
    the config has no such split.

    The classes and the ignore index are those of the split's
    :class:`CheckSegLabels` step when it has one, else the dataset's class
    count and ``ignore_index``; the label decoder is that of its
    ``LoadAnnotations``.

    Args:
        cfg (mmengine.Config): The config.
        split (str): 'train', 'val' or 'test' (``{split}_dataloader``).

    Returns:
        tuple | None: The dataset and ``dict(num_classes, ignore_index,
        backend_args, imdecode_backend)`` (``num_classes`` None when neither
        names the classes).
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        return None
    ds_cfg = loader['dataset']
    ds_cfg = ds_cfg.to_dict() if hasattr(ds_cfg, 'to_dict') else dict(ds_cfg)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(_without_pipelines(ds_cfg))
    guard = _pipeline_step(ds_cfg, 'CheckSegLabels') or {}
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    load_ann = _pipeline_step(ds_cfg, 'LoadAnnotations') or {}
    backend_args = getattr(dataset, 'backend_args', None) or next(
        (ds.get('backend_args')
         for ds in _walk_datasets(ds_cfg) if ds.get('backend_args')), None)
    return dataset, dict(
        num_classes=guard.get('num_classes')
        or (len(classes) if classes else None),
        ignore_index=guard.get('ignore_index',
                               getattr(dataset, 'ignore_index', 255)),
        backend_args=backend_args,
        imdecode_backend=load_ann.get('imdecode_backend', 'pillow'))


def check_config_split(cfg,
                       split: str = 'train',
                       workers: int = 0) -> Tuple[List[FileProblem], dict]:
    """Check every image and label map of a config's split, as its dataset
    lists them, against :func:`split_check_settings`.

    Args:
        cfg (mmengine.Config): The config.
        split (str): 'train', 'val' or 'test' (``{split}_dataloader``).
        workers (int): Worker processes; 0 checks in this process.

    Returns:
        tuple: The problems, and a summary dict (``samples``, ``seconds``,
        ``num_classes``, ``ignore_index``, ``notes``: config inconsistencies
        found on the way).
    """
    import time

    found = split_check_settings(cfg, split)
    if found is None:
        raise KeyError(f'the config has no {split}_dataloader.dataset to '
                       'check (splits: train, val, test)')
    dataset, settings = found
    num_classes = settings['num_classes']
    if num_classes is None:
        raise ValueError(f'{split}_dataloader.dataset names no classes and '
                         'its pipeline has no CheckSegLabels(num_classes=...)')
    notes = []
    head = (cfg.get('model') or {}).get('decode_head')
    if isinstance(head,
                  dict) and head.get('num_classes') not in (None, num_classes):
        notes.append(f'model.decode_head.num_classes is '
                     f'{head["num_classes"]} but the {split} labels are '
                     f'checked against {num_classes} classes')
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if classes and len(classes) != num_classes:
        notes.append(f'the dataset has {len(classes)} classes but '
                     f'CheckSegLabels(num_classes={num_classes})')
    start = time.perf_counter()
    samples = dataset_samples(dataset)
    problems = check_dataset(samples, workers=workers, **settings)
    summary = dict(
        samples=len(samples),
        seconds=time.perf_counter() - start,
        num_classes=num_classes,
        ignore_index=settings['ignore_index'],
        notes=notes)
    return problems, summary


def _without_pipelines(ds_cfg: dict) -> dict:
    """A copy of a dataset config with empty pipelines."""
    ds_cfg = dict(ds_cfg)
    if 'pipeline' in ds_cfg:
        ds_cfg['pipeline'] = []
    if isinstance(ds_cfg.get('dataset'), dict):
        ds_cfg['dataset'] = _without_pipelines(ds_cfg['dataset'])
    if ds_cfg.get('datasets'):
        ds_cfg['datasets'] = [
            _without_pipelines(d) for d in ds_cfg['datasets']
        ]
    return ds_cfg


def find_files(folder: str,
               suffix: Optional[str] = None,
               limit: int = 1) -> Tuple[List[str], Dict[str, int]]:
    """Walk ``folder`` and return up to ``limit`` files ending in ``suffix``
    (any file when None), with a count of the suffixes seen on the way.

    Hidden files (``.gitkeep``, ``.DS_Store``) are not counted: a folder
    holding only those is empty for a dataset.
    """
    found: List[str] = []
    seen: Dict[str, int] = {}
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in sorted(files):
            if name.startswith('.'):
                continue
            ext = osp.splitext(name)[1] or name
            seen[ext] = seen.get(ext, 0) + 1
            if suffix is None or name.endswith(suffix):
                found.append(osp.join(root, name))
                if len(found) >= limit:
                    return found, seen
    return found, seen


__all__ = [
    'CheckSegLabels', 'DataCheckError', 'FileProblem', 'check_config_split',
    'split_check_settings', 'label_map_problems', 'check_dataset',
    'check_sample', 'dataset_samples', 'decode_image_strict',
    'mapped_label_values', 'missing_end_marker', 'find_files'
]
