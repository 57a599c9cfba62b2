"""The dataset scan: every distinct sample of a dataset or of a config's
split checked (:func:`~.sample.check_sample`), with a summary for the
report of ``tools/analysis_tools/check_dataset.py``."""
import time
from multiprocessing import Pool
from typing import List, Optional, Sequence, Tuple

from .config_split import split_check_settings
from .problems import FileProblem
from .sample import check_sample


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
