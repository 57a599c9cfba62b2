"""Checks of a segmentation dataset's files: images that decode completely,
label maps of the image's size holding only class ids and the ignore index.

Two ways to use them:

- ``tools/analysis_tools/check_dataset.py CONFIG --split train`` reads every
  image and label of a split (:func:`check_config_split`) and lists each bad
  file; run it before a long job.
- :class:`CheckSegLabels`, a pipeline step placed right after
  ``LoadAnnotations``, stops training and evaluation at the first bad sample
  with the file named, instead of an ``IndexError: Target 200 is out of
  bounds`` iterations later (training) or silently dropped pixels
  (``IoUMetric`` histograms only count values in ``[0, num_classes)``). With
  ``check_files=True`` it also runs the tool's full per-file check on every
  sample it loads.

Modules: ``problems`` (what is reported), ``image_files`` (image decoding and
end markers), ``labels`` (label maps and their values), ``sample`` (the full
check of one sample), ``check_seg_labels`` (the pipeline step), ``scan`` (a
dataset's or a config split's samples checked), ``config_split`` (what a
split is checked against), ``folders`` (what a data folder holds).
"""
from .check_seg_labels import CheckSegLabels
from .config_split import split_check_settings
from .folders import find_files
from .image_files import decode_image_strict, missing_end_marker
from .labels import label_map_problems, mapped_label_values
from .problems import DataCheckError, FileProblem
from .sample import check_sample
from .scan import check_config_split, check_dataset, dataset_samples

__all__ = [
    'CheckSegLabels', 'DataCheckError', 'FileProblem', 'check_config_split',
    'split_check_settings', 'label_map_problems', 'check_dataset',
    'check_sample', 'dataset_samples', 'decode_image_strict',
    'mapped_label_values', 'missing_end_marker', 'find_files'
]
