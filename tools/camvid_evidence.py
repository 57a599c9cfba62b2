"""The CamVid evidence table of the README ("Results"): on the whole CamVid
train split, from scratch, 3 seeds each,

(a) the image baseline,
    configs/das/pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py;
(b) DAS with the paper's protocol (search on the 50/50 split, derive the
    policy, retrain from the initial weights on the whole training set for
    the whole schedule),
    configs/das/das-pspnet_gsf-r18tiny-d16-t4_1xb4-1k_camvid-cpu-128x128.py;
(c) the image baseline with random shift / rotate / zoom of DAS's per-step
    ranges,
    configs/das/pspnet_r18tiny-d16_1xb4-1k-shiftrotzoom_camvid-cpu-128x128.py;
(d) the control of (b): the DAS model and schedule of (b) trained without a
    search on the identity clip (every frame the image: ``train_cfg.mode=
    'train'`` with ``WORK_DIR/identity_policy.json``), which separates what
    the clip's augmentation brings from what T frames through the video
    backbone bring;

mIoU on the 101 val images, per seed and mean ± std, and the derived DAS
policies (ops per node with their magnitudes, mean pixel displacement per
frame)::

    python tools/camvid_evidence.py CAMVID_ROOT [WORK_DIR] [--jobs 2]
    python tools/camvid_evidence.py CAMVID_ROOT WORK_DIR --table-only
    python tools/camvid_evidence.py CAMVID_ROOT WORK_DIR \
        --max-iters 2000 --search-iters 500      # twice the schedule

CAMVID_ROOT is the SegNet release of CamVid (``{train,val}/{img,ann}`` or
``{train,val}`` + ``{train,val}annot``). The tool

1. converts it at half resolution (180x240) into ``--data-dir``
   (``data/camvid_cpu``, git-ignored) with
   ``tools/dataset_converters/camvid.py --scale 0.5``, unless that folder
   already holds as many images per split as the source;
2. trains the 12 runs (DAS first: they are the longest), ``--jobs`` at a time,
   each as ``tools/train.py CONFIG --work-dir WORK_DIR/<method>_seed<s>
   --cfg-options randomness.seed=<s> ...`` with ``OMP_NUM_THREADS=1``, its
   output in ``WORK_DIR/<method>_seed<s>.log``. It is resumable: a run whose
   final checkpoint and ``evidence.json`` (its final val metrics) exist is
   skipped, one that stopped after a checkpoint goes on with ``--resume``;
3. prints the markdown table and writes it to ``WORK_DIR/table.md``.

``--smoke`` checks the pieces in seconds (CI, tests/test_camvid_evidence.py):
one seed, 2 search and 2 training iterations, batch 2, in this process.
"""
import argparse
import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout without installing
TRAIN = osp.join(ROOT, 'tools', 'train.py')
CONVERTER = osp.join(ROOT, 'tools', 'dataset_converters', 'camvid.py')
CONFIG_DIR = osp.join(ROOT, 'configs', 'das')
SPLITS = ('train', 'val')
SCALE = 0.5
RESULT_FILE = 'evidence.json'


@dataclass(frozen=True)
class Method:
    """A row of the table: a config, and whether it searches a policy
    (``searches``) or trains the DAS model on the identity clip."""
    key: str
    label: str
    config: str
    frames: int
    searches: bool = False

    @property
    def is_das(self) -> bool:
        return self.frames > 1


METHODS = (
    Method('baseline', '(a) image baseline',
           'pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py', 1),
    Method(
        'das',
        '(b) DAS, search + retrain (paper protocol)',
        'das-pspnet_gsf-r18tiny-d16-t4_1xb4-1k_camvid-cpu-128x128.py',
        4,
        searches=True),
    Method('shiftrotzoom', '(c) image baseline + random shift/rotate/zoom',
           'pspnet_r18tiny-d16_1xb4-1k-shiftrotzoom_camvid-cpu-128x128.py', 1),
    # the control of (b): its model and schedule with every frame the image
    Method('identity', '(d) DAS model, identity clip (no search)',
           'das-pspnet_gsf-r18tiny-d16-t4_1xb4-1k_camvid-cpu-128x128.py', 4),
)
IDENTITY_POLICY = 'identity_policy.json'
# --smoke: the shortest run of each loop (search and training) on tiny
# batches
SMOKE_OPTIONS = {
    'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 2,
    'train_dataloader.batch_size': 2,
    'default_hooks.logger.interval': 1,
}
SMOKE_DAS_OPTIONS = {'train_cfg.search_iters': 2}
SMOKE_CROP = (64, 64)


@dataclass
class Run:
    """One training: a method with a seed.

    Attributes:
        options (dict): ``--cfg-options`` on top of the config.
        total_iters (int): ``runner.iter`` at the end (search included).
        crop_size (tuple): (H, W) of the training crops.
    """
    method: Method
    seed: int
    work_dir: str
    options: Dict[str, object]
    total_iters: int
    search_iters: int
    max_iters: int
    crop_size: tuple
    result: Optional[dict] = field(default=None)

    @property
    def name(self) -> str:
        return f'{self.method.key}_seed{self.seed}'

    @property
    def config(self) -> str:
        return osp.join(CONFIG_DIR, self.method.config)

    @property
    def final_checkpoint(self) -> str:
        return osp.join(self.work_dir, f'iter_{self.total_iters}.pth')

    @property
    def result_file(self) -> str:
        return osp.join(self.work_dir, RESULT_FILE)

    def is_done(self) -> bool:
        return osp.isfile(self.final_checkpoint) and osp.isfile(
            self.result_file)

    def argv(self) -> List[str]:
        """The arguments of tools/train.py."""
        args = [self.config, '--work-dir', self.work_dir]
        if osp.isfile(osp.join(self.work_dir, 'last_checkpoint')):
            args.append('--resume')
        args.append('--cfg-options')
        args += [f'{k}={cli_value(v)}' for k, v in self.options.items()]
        return args


def cli_value(value) -> str:
    """A ``--cfg-options`` value: tuples as ``(a,b)``."""
    if isinstance(value, (tuple, list)):
        return '(' + ','.join(str(v) for v in value) + ')'
    return str(value)


def load_module(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_data(camvid_root: str, data_dir: str) -> None:
    """Convert CamVid's train and val splits into ``data_dir`` at half
    resolution, unless it already holds as many pairs per split as the
    source."""
    converter = load_module(CONVERTER, 'camvid_converter')
    missing = []
    for split in SPLITS:
        expected = len(converter.find_pairs(camvid_root, split))
        found = [
            len(glob.glob(osp.join(data_dir, kind, split, pattern)))
            for kind, pattern in (('img_dir', '*.jpg'), ('ann_dir', '*.png'))
        ]
        if found != [expected, expected]:
            missing.append(split)
    if not missing:
        print(f'data: {data_dir} holds the converted splits {SPLITS}')
        return
    print(f'data: converting {camvid_root} ({", ".join(missing)}) -> '
          f'{data_dir} at scale {SCALE}')
    subprocess.run([
        sys.executable, CONVERTER, camvid_root, data_dir, '--splits', *missing,
        '--scale',
        str(SCALE)
    ],
                   check=True)


def make_runs(work_dir: str,
              data_dir: str,
              seeds: Sequence[int],
              smoke: bool,
              max_iters: Optional[int] = None,
              search_iters: Optional[int] = None) -> List[Run]:
    """The runs, longest (DAS) first, with their lengths read from the
    configs, or set by ``max_iters`` (training, every method) and
    ``search_iters`` (DAS)."""
    from mmengine.config import Config
    runs = []
    for method in sorted(METHODS, key=lambda m: not m.is_das):
        cfg = Config.fromfile(osp.join(CONFIG_DIR, method.config))
        common = {
            f'{loader}.dataset.data_root': data_dir
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')
        }
        if max_iters is not None:
            common.update(schedule_options(cfg, max_iters))
        if search_iters is not None and method.searches:
            common['train_cfg.search_iters'] = search_iters
        if smoke:
            common.update(SMOKE_OPTIONS)
            if method.searches:
                common.update(SMOKE_DAS_OPTIONS)
            common.update(smoke_crop_options(cfg))
        if method.is_das and not method.searches:
            common['train_cfg.mode'] = 'train'
            common['train_cfg.policy_file'] = osp.join(work_dir,
                                                       IDENTITY_POLICY)
        cfg.merge_from_dict(common)
        search = (
            cfg.train_cfg.get('search_iters', 0) if method.searches else 0)
        crop = cfg.train_dataloader.dataset.pipeline
        crop = next(t['crop_size'] for t in crop if t['type'] == 'RandomCrop')
        for seed in seeds:
            options = dict(common)
            name = f'{method.key}_seed{seed}'
            options['randomness.seed'] = seed
            if method.searches:  # each seed its own 50/50 split
                options['train_cfg.split_seed'] = seed
            if smoke:  # in one process: each run its own visualizer (the
                # config's name would hand every run the first one's)
                options['visualizer.name'] = name
            runs.append(
                Run(method, seed, osp.join(work_dir, name), options,
                    search + cfg.train_cfg.max_iters, search,
                    cfg.train_cfg.max_iters, tuple(crop)))
    return runs


def write_identity_policy(work_dir: str) -> str:
    """The policy of (d): every node sums the identity of both inputs, so
    every frame of the clip is the image."""
    from mmengine.config import Config

    from das_mmseg.augment.policy import Policy
    das = next(m for m in METHODS if m.searches)
    cell = Config.fromfile(osp.join(CONFIG_DIR, das.config)).model.clip_cell
    policy = Policy(
        ops=tuple(cell.ops),
        nodes=[[(0, 'identity'), (1, 'identity')]] * cell.num_nodes,
        num_frames=cell.num_frames)
    assert policy.is_identity()
    path = osp.join(work_dir, IDENTITY_POLICY)
    policy.save(path)
    return path


def schedule_options(cfg, max_iters: int) -> Dict[str, object]:
    """Train ``max_iters`` iterations (after the search, for DAS): the
    loop, its last validation and the end of every poly schedule."""
    options = {
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters
    }
    schedulers = cfg.param_scheduler
    prefix = 'param_scheduler'
    if isinstance(schedulers, dict):  # DAS: one list per optimizer
        schedulers, prefix = schedulers['model'], 'param_scheduler.model'
    for i, scheduler in enumerate(schedulers):
        if scheduler.get('end') == cfg.train_cfg.max_iters:
            options[f'{prefix}.{i}.end'] = max_iters
    return options


def smoke_crop_options(cfg) -> Dict[str, object]:
    """--smoke: 64x64 crops of images rescaled around 120x90."""
    options = {'model.data_preprocessor.size': SMOKE_CROP}
    for i, step in enumerate(cfg.train_dataloader.dataset.pipeline):
        key = f'train_dataloader.dataset.pipeline.{i}'
        if step['type'] == 'RandomCrop':
            options[f'{key}.crop_size'] = SMOKE_CROP
        elif step['type'] == 'RandomResize':
            options[f'{key}.scale'] = (120, 90)
    return options


def final_metrics(work_dir: str, step: int) -> dict:
    """The val metrics logged at iteration ``step`` (the last one), from the
    runs' ``<timestamp>/vis_data/scalars.json`` (a resumed run has several)."""
    found = None
    for path in sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'mIoU' in record and record.get('step') == step:
                    found = record
    if found is None:
        raise RuntimeError(f'no val mIoU at iteration {step} in '
                           f'{work_dir}/*/vis_data/scalars.json')
    return {k: found[k] for k in ('aAcc', 'mIoU', 'mAcc', 'step')}


def train(run: Run, log_dir: str, in_process: bool) -> dict:
    """Train one run (or resume it) and write its ``evidence.json``."""
    start = time.time()
    argv = run.argv()
    resumed = '--resume' in argv
    if in_process:
        load_module(TRAIN, 'das_train_tool').main(argv)
    else:
        env = dict(
            os.environ,
            OMP_NUM_THREADS='1',
            MKL_NUM_THREADS='1',
            PYTHONPATH=ROOT)
        log = osp.join(log_dir, run.name + '.log')
        with open(log, 'a') as f:
            f.write(f'$ {sys.executable} {TRAIN} {" ".join(argv)}\n')
            f.flush()
            code = subprocess.run([sys.executable, TRAIN, *argv],
                                  stdout=f,
                                  stderr=subprocess.STDOUT,
                                  env=env,
                                  cwd=ROOT).returncode
        if code:
            raise RuntimeError(f'{run.name} failed (exit code {code}); see '
                               f'{log}')
    result = final_metrics(run.work_dir, run.total_iters)
    result.update(
        method=run.method.key,
        seed=run.seed,
        config=osp.relpath(run.config, ROOT),
        search_iters=run.search_iters,
        max_iters=run.max_iters,
        wall_s=round(time.time() - start, 1),
        resumed=resumed)
    with open(run.result_file, 'w') as f:
        json.dump(result, f, indent=2)
    return result


def run_all(runs: List[Run], log_dir: str, jobs: int,
            in_process: bool) -> List[str]:
    """Train the runs that are not done, ``jobs`` at a time; the names of
    those that failed."""
    todo = [r for r in runs if not r.is_done()]
    for run in runs:
        if run not in todo:
            print(f'{run.name}: done, skipped')
    failed = []

    def one(run: Run) -> None:
        print(f'{time.strftime("%H:%M:%S")} {run.name}: start', flush=True)
        try:
            result = train(run, log_dir, in_process)
        except Exception as e:  # report, and go on with the other runs
            print(f'{time.strftime("%H:%M:%S")} {run.name}: {e}', flush=True)
            failed.append(run.name)
            return
        print(
            f'{time.strftime("%H:%M:%S")} {run.name}: mIoU '
            f'{result["mIoU"]:.2f} in {result["wall_s"]:.0f} s',
            flush=True)

    if in_process or jobs == 1:
        for run in todo:
            one(run)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, todo))
    return failed


def mean_std(values: Sequence[float]) -> str:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return f'{mean:.2f}'
    std = (sum((v - mean)**2 for v in values) / (n - 1))**0.5
    return f'{mean:.2f} ± {std:.2f}'


def used_nodes(policy) -> List[bool]:
    """Per intermediate node, whether it is on a path to the clip (the last
    node)."""
    used = [False] * policy.num_nodes
    used[-1] = True
    for node in reversed(range(policy.num_nodes)):
        if used[node]:
            for edge in policy.nodes[node]:
                if edge.source >= 2:
                    used[edge.source - 2] = True
    return used


def describe_node(edges) -> str:

    def source(s: int) -> str:
        return f'in{s}' if s < 2 else f'n{s}'

    def term(e) -> str:
        magnitude = '' if e.magnitude is None else f' {e.magnitude:.3g}'
        return f'{e.op}{magnitude} ({source(e.source)})'

    return ' + '.join(term(e) for e in edges)


def table(runs: List[Run], seeds: Sequence[int]) -> str:
    """The markdown table of the finished runs."""
    from das_mmseg.augment.policy import Policy
    lines = [
        '| method | T | ' + ' | '.join(f'seed {s}'
                                       for s in seeds) + ' | mean ± std |',
        '| --- | -: | ' + ' | '.join('-:' for _ in seeds) + ' | -: |'
    ]
    for method in METHODS:
        mine = {r.seed: r for r in runs if r.method == method}
        values = {
            s: json.load(open(r.result_file))['mIoU']
            for s, r in mine.items() if r.is_done()
        }
        cells = [f'{values[s]:.2f}' if s in values else '—' for s in seeds]
        summary = mean_std(list(values.values())) if values else '—'
        lines.append(f'| {method.label} | {method.frames} | ' +
                     ' | '.join(cells) + f' | {summary} |')
    das = [r for r in runs if r.method.searches]
    policies = [(r, osp.join(r.work_dir, 'das_policy.json')) for r in das]
    policies = [(r, Policy.load(p)) for r, p in policies if osp.isfile(p)]
    if policies:
        num_nodes = policies[0][1].num_nodes
        lines += [
            '', 'Derived DAS policies (op, magnitude per step, source; '
            'n2.. are the intermediate nodes, the clip is the last one; '
            '[unused] marks a node on no path to it), and the mean pixel '
            'displacement of each frame on the training crops:', '',
            '| seed | ' + ' | '.join(f'n{n + 2}' for n in range(num_nodes)) +
            ' | displacement per frame (px) |',
            '| -: | ' + ' | '.join('---'
                                   for _ in range(num_nodes)) + ' | --- |'
        ]
        for run, policy in policies:
            used = used_nodes(policy)
            nodes = [
                describe_node(edges) + ('' if used[n] else ' [unused]')
                for n, edges in enumerate(policy.nodes)
            ]
            shift = policy.displacement(run.crop_size)
            size = 'x'.join(str(s) for s in run.crop_size)
            lines.append(f'| {run.seed} | ' + ' | '.join(nodes) + ' | ' +
                         ', '.join(f'{d:.1f}'
                                   for d in shift) + f' at {size} |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'camvid_root', help='CamVid of the SegNet release (train, val)')
    parser.add_argument(
        'work_dir',
        nargs='?',
        default=osp.join('work_dirs', 'camvid_evidence'),
        help='runs, logs and table.md (default: work_dirs/camvid_evidence)')
    parser.add_argument(
        '--data-dir',
        help='the converted data (default: data/camvid_cpu; --smoke: '
        'WORK_DIR/data)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--max-iters',
        type=int,
        help='training iterations of every run (DAS: after the search; '
        'default: the configs\' 1000)')
    parser.add_argument(
        '--search-iters',
        type=int,
        help='search iterations of DAS (default: the config\'s 250)')
    parser.add_argument(
        '--jobs', type=int, default=2, help='trainings at a time')
    parser.add_argument(
        '--table-only',
        action='store_true',
        help='print the table of the finished runs, train nothing')
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='tiny runs in this process, one seed: a check of the pieces')
    args = parser.parse_args(argv)
    for name in ('jobs', 'max_iters', 'search_iters'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.time()
    work_dir = osp.abspath(args.work_dir)
    seeds = args.seeds[:1] if args.smoke else args.seeds
    data_dir = args.data_dir or (osp.join(work_dir, 'data') if args.smoke else
                                 osp.join(ROOT, 'data', 'camvid_cpu'))
    data_dir = osp.abspath(data_dir)
    os.makedirs(work_dir, exist_ok=True)
    if not args.table_only:
        ensure_data(args.camvid_root, data_dir)
        write_identity_policy(work_dir)
    runs = make_runs(work_dir, data_dir, seeds, args.smoke, args.max_iters,
                     args.search_iters)
    failed = []
    if not args.table_only:
        failed = run_all(runs, work_dir, args.jobs, args.smoke)
    text = table(runs, seeds)
    with open(osp.join(work_dir, 'table.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    if not args.table_only:
        print(f'\nwall time {time.time() - start:.0f} s for '
              f'{len(runs)} runs ({", ".join(failed) or "none"} failed)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
