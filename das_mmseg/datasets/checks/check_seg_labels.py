"""``CheckSegLabels``: the pipeline step that stops training and evaluation
at the first sample a segmentor cannot learn from or be scored on."""
from typing import List, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from .image_files import file_head_and_tail, missing_end_marker
from .labels import label_file_values, label_value_problem, out_of_range
from .problems import TOOL, DataCheckError, FileProblem
from .sample import check_sample


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
            label_file_values(values, results.get('reduce_zero_label', False),
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
