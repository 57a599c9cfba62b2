"""The CamVid ablation of the README ("CamVid evidence"): does the *searched*
clip help? Paired seeds, controls, and paired differences with confidence
intervals. On the whole CamVid train split at half resolution, from scratch,
the demo's tiny PSPNet, 128x128 crops, mIoU on the 101 val images. Arms:

A   image baseline (pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py);
A4  the image baseline given DAS's training compute: T x its iterations
    (T = 4; DAS's model costs 4.05x the image model's FLOPs, so A4 trains
    with 0.99x the compute of DAS's training phase; the search is not
    counted);
TA  a TrivialAugment-style image baseline: one of shift_x / shift_y / zoom /
    rotate per crop, strength uniform in [0, max], labels warped alike
    (pspnet_r18tiny-d16_1xb4-1k-trivialgeo_camvid-cpu-128x128.py);
I   the DAS model and schedule on the identity clip (no search;
    ``das_search.mode='train'`` with an identity policy);
D   DAS with the paper's protocol (search on the 50/50 split, derive the
    policy, retrain from the initial weights on the whole training set)
    (das-pspnet_gsf-r18tiny-d16-t4_1xb4-1k_camvid-cpu-128x128.py);
R   a random policy from D's space with D's magnitudes (per node two kept
    edges drawn uniformly among its sources, an op drawn uniformly per kept
    edge, the magnitude the D run's cell has for that edge and op), trained
    as I; ``--draws`` per seed, after D of the same seed;
C   (not in the default set) the earlier stacked augmentation: all of shift,
    zoom and rotate at full per-step ranges on every crop;
DU  (not in the default set) D with DARTS' second-order α step
    (``das_search.unrolled=True``);
DW, IW, RW  (not in the default set) D, I and R with the alignment-aware
    objective, beyond the paper (``loss_target='warped'``, read with
    ``fusion='reference'``; das-pspnet_gsf-r18tiny-d16-t4_1xb4-1k-warped_
    camvid-cpu-128x128.py): every frame against its own moved labels. RW
    draws from DW's space and magnitudes.

Pairing: every arm of one seed starts from the same initial weights (arms of
one model), the same data order (the runner's seed) and, for I, D and R, the
same magnitude draw; D's training phase, I and R differ only in the clip.
Differences are computed only over seeds run on the same machine (the
``machine`` key of each result: CPU, its flags, machine id, torch).

    python tools/camvid_evidence.py CAMVID_ROOT [--jobs 2]
        [--arms D I R A=0-4 A4=0-4 TA=0-4] [--seeds 0-9] [--draws 1]
    python tools/camvid_evidence.py CAMVID_ROOT --table-only

CAMVID_ROOT is the SegNet release of CamVid (``{train,val}/{img,ann}`` or
``{train,val}`` + ``{train,val}annot``). The tool

1. converts it at half resolution (180x240) into ``--data-dir``
   (``data/camvid_cpu``, git-ignored), unless that is done;
2. trains the runs not yet done, ``--jobs`` at a time, seed by seed (the
   longest arm first), each as ``tools/train.py CONFIG --work-dir
   WORK_DIR/<schedule>/<arm>_seed<s> --cfg-options randomness.seed=<s> ...``
   with ``OMP_NUM_THREADS=1``, its output in ``<work dir>.log``. Each finished
   run writes one small JSON to ``RESULTS/<schedule>/`` (metrics, the policy
   it trained with, wall time, FLOPs, machine): commit those files, the table
   grows over several sessions. A run with a result for this machine is
   skipped; one that stopped after a checkpoint goes on with ``--resume``;
3. prints the table (per machine: per arm mean ± std; paired differences
   with 95 % t intervals and what they support) and writes it to
   ``RESULTS/<schedule>/table.md``.

``--smoke`` checks the pieces in seconds
(tests/test_tools/test_camvid_evidence.py): 2 search and 2 training
iterations, batch 2, 64x64 crops, in this process.
"""
import argparse
import contextlib
import glob
import hashlib
import importlib.util
import io
import json
import os
import os.path as osp
import platform
import re
import subprocess
import sys
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

# setuptools' deprecation notice for pkg_resources, printed by the OpenMMLab
# packages when they are imported, says nothing about this run
warnings.filterwarnings(
    'ignore', message='pkg_resources is deprecated', category=UserWarning)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout without installing
TRAIN = osp.join(ROOT, 'tools', 'train.py')
GET_FLOPS = osp.join(ROOT, 'tools', 'analysis_tools', 'get_flops.py')
CONVERTER = osp.join(ROOT, 'tools', 'dataset_converters', 'camvid.py')
CONFIG_DIR = osp.join(ROOT, 'configs', 'das')
SPLITS = ('train', 'val')
SCALE = 0.5
VAL_SHAPE = (180, 240)  # the converted val images, (H, W)
IDENTITY_POLICY = 'identity_policy.json'
RANDOM_POLICY = 'random_policy.json'


@dataclass(frozen=True)
class Arm:
    """A row of the table.

    Attributes:
        key (str): Its name on the command line and in result files.
        label (str): What it is, for the table.
        config (str): Config file in ``configs/das``.
        policy (str | None): How the clip is chosen: ``'search'`` (DAS),
            ``'identity'``, ``'random'`` (drawn after D of the same seed), or
            None for an image model.
        iters_factor (int | str): Training iterations as a multiple of the
            schedule's; ``'frames'``: T of the DAS config (A4).
        options (tuple): ``(key, value)`` config overrides of the arm.
        depends (str): For a random policy: the searching arm whose derived
            policy's space and magnitudes it draws from.
    """
    key: str
    label: str
    config: str
    policy: Optional[str] = None
    iters_factor: object = 1
    options: Tuple[Tuple[str, object], ...] = ()
    depends: str = 'D'

    @property
    def is_clip(self) -> bool:
        return self.policy is not None


DAS_CONFIG = 'das-pspnet_gsf-r18tiny-d16-t4_1xb4-1k_camvid-cpu-128x128.py'
IMAGE_CONFIG = 'pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py'
WARPED_CONFIG = ('das-pspnet_gsf-r18tiny-d16-t4_1xb4-1k-warped_'
                 'camvid-cpu-128x128.py')
ARMS = {
    arm.key: arm
    for arm in (
        Arm('D', 'DAS, search + retrain (paper protocol)', DAS_CONFIG,
            'search'),
        Arm('I', 'DAS model, identity clip (no search)', DAS_CONFIG,
            'identity'),
        Arm('R', 'DAS model, random policy of D\'s space', DAS_CONFIG,
            'random'),
        Arm('DU',
            'DAS, unrolled (second-order) α steps',
            DAS_CONFIG,
            'search',
            options=(('das_search.unrolled', True), )),
        Arm('DW', 'DAS, warped (alignment-aware) objective', WARPED_CONFIG,
            'search'),
        Arm('IW', 'warped objective, identity clip', WARPED_CONFIG,
            'identity'),
        Arm('RW',
            'warped objective, random policy of DW\'s space',
            WARPED_CONFIG,
            'random',
            depends='DW'),
        Arm('A4',
            'image baseline, T x the iterations',
            IMAGE_CONFIG,
            iters_factor='frames'),
        Arm('A', 'image baseline', IMAGE_CONFIG),
        Arm('TA', 'image baseline + TrivialAugment (geometric)',
            'pspnet_r18tiny-d16_1xb4-1k-trivialgeo_camvid-cpu-128x128.py'),
        Arm('C', 'image baseline + stacked shift/zoom/rotate',
            'pspnet_r18tiny-d16_1xb4-1k-shiftrotzoom_camvid-cpu-128x128.py'),
    )
}
ARM_ORDER = tuple(ARMS)  # within a seed: the longest first
DEFAULT_ARMS = ('D', 'I', 'R', 'A=0-4', 'A4=0-4', 'TA=0-4')
DEFAULT_SEEDS = ('0-9', )
# (first, second): first - second, in the table's order. DW - R: R is a
# random policy of the same space with the same magnitudes (the cell's
# magnitude draw is the seed's, whatever the objective), trained with the
# paper's objective; RW is the one trained with DW's.
DIFFERENCES = (('D', 'I'), ('D', 'R'), ('R', 'I'), ('I', 'A'), ('D', 'A'),
               ('D', 'A4'), ('A4', 'A'), ('TA', 'A'), ('D', 'TA'), ('DU', 'D'),
               ('DU', 'I'), ('DW', 'IW'), ('DW', 'RW'), ('DW', 'D'),
               ('IW', 'I'), ('DW', 'I'), ('DW', 'R'))
# --smoke: the shortest run of each loop (search and training) on tiny
# batches
SMOKE_OPTIONS = {
    'train_dataloader.batch_size': 2,
    'default_hooks.logger.interval': 1,
}
SMOKE_CROP = (64, 64)


# --- the machine -------------------------------------------------------------
def machine_info() -> Dict[str, str]:
    """What identifies the machine a run's numbers belong to: the CPU (model,
    family, stepping, flags), the machine id and torch's version; ``key`` is
    a short digest of them all."""
    import torch
    cpu: Dict[str, str] = {}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                name, _, value = line.partition(':')
                cpu[name.strip()] = value.strip()
    except OSError:
        pass
    try:
        with open('/etc/machine-id') as f:
            machine_id = f.read().strip()
    except OSError:
        machine_id = platform.node()
    name = cpu.get('model name', platform.processor() or platform.machine())
    parts = [
        name,
        cpu.get('cpu family', ''),
        cpu.get('model', ''),
        cpu.get('stepping', ''),
        cpu.get('flags', ''), machine_id, torch.__version__,
        str(os.cpu_count())
    ]
    key = hashlib.sha1('|'.join(parts).encode()).hexdigest()[:10]
    return dict(
        key=key,
        cpu=f'{name} (family {cpu.get("cpu family", "?")}, model '
        f'{cpu.get("model", "?")}, stepping {cpu.get("stepping", "?")}), '
        f'{os.cpu_count()} cores',
        torch=torch.__version__)


def git_commit() -> Optional[str]:
    try:
        out = subprocess.run(['git', 'rev-parse', 'HEAD'],
                             cwd=ROOT,
                             capture_output=True,
                             text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run([
            'git', 'status', '--porcelain', '--', 'das_mmseg', 'configs',
            'tools'
        ],
                               cwd=ROOT,
                               capture_output=True,
                               text=True).stdout.strip()
        return out + ('+dirty' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return None


# --- runs --------------------------------------------------------------------
@dataclass
class Run:
    """One training: an arm with a seed (and, for R, a draw).

    Attributes:
        options (dict): ``--cfg-options`` on top of the config.
        total_iters (int): ``runner.iter`` at the end (search included).
        crop_size (tuple): (H, W) of the training crops.
        results_dir (str): Where its result JSON goes.
        machine (str): The key of this machine.
    """
    arm: Arm
    seed: int
    draw: int
    work_dir: str
    options: Dict[str, object]
    total_iters: int
    search_iters: int
    max_iters: int
    batch_size: int
    crop_size: tuple
    results_dir: str
    machine: str
    frames: int = 1
    depends_on: Optional['Run'] = field(default=None, repr=False)

    @property
    def name(self) -> str:
        draw = f'_draw{self.draw}' if self.arm.policy == 'random' else ''
        return f'{self.arm.key}_seed{self.seed}{draw}'

    @property
    def config(self) -> str:
        return osp.join(CONFIG_DIR, self.arm.config)

    @property
    def result_file(self) -> str:
        return osp.join(self.results_dir, f'{self.name}__{self.machine}.json')

    @property
    def policy_file(self) -> Optional[str]:
        if self.arm.policy == 'identity':
            return osp.join(osp.dirname(self.work_dir), IDENTITY_POLICY)
        if self.arm.policy == 'random':
            return osp.join(self.work_dir, RANDOM_POLICY)
        return None

    def is_done(self) -> bool:
        return osp.isfile(self.result_file)

    def is_ready(self) -> bool:
        return self.depends_on is None or self.depends_on.is_done()

    def argv(self) -> List[str]:
        """The arguments of tools/train.py."""
        args = [self.config, '--work-dir', self.work_dir]
        if osp.isfile(osp.join(self.work_dir, 'last_checkpoint')):
            args.append('--resume')
        else:  # a run that stopped before its first checkpoint starts anew
            args.append('--overwrite')
        args.append('--cfg-options')
        args += [f'{k}={cli_value(v)}' for k, v in self.options.items()]
        return args


def cli_value(value) -> str:
    """A ``--cfg-options`` value: tuples as ``(a,b)``."""
    if isinstance(value, (tuple, list)):
        return '(' + ','.join(str(v) for v in value) + ')'
    return str(value)


def parse_seeds(specs: Sequence[str]) -> List[int]:
    """Seeds from ``'0-9'``, ``'3'`` or ``'1,4,7'`` items, in order, without
    repeats."""
    seeds: List[int] = []
    for spec in specs:
        for part in str(spec).split(','):
            match = re.fullmatch(r'\s*(\d+)\s*(?:-\s*(\d+)\s*)?', part)
            if match is None:
                raise ValueError(
                    f'a seed is a number, a range a-b or a list a,b; got '
                    f'{part!r}')
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) else low
            if high < low:
                raise ValueError(f'seed range {part!r} ends before it '
                                 'starts')
            seeds += [s for s in range(low, high + 1) if s not in seeds]
    return seeds


def parse_arms(specs: Sequence[str],
               seeds: Sequence[int]) -> Dict[str, List[int]]:
    """``ARM`` or ``ARM=SEEDS`` items: the seeds of each arm (``seeds`` when
    the item gives none)."""
    arms: Dict[str, List[int]] = {}
    for spec in specs:
        key, _, own = spec.partition('=')
        if key not in ARMS:
            raise ValueError(f'unknown arm {key!r}; the arms are '
                             f'{", ".join(ARMS)}')
        arms[key] = parse_seeds([own]) if own else list(seeds)
    for key in list(arms):
        source = ARMS[key].depends
        if ARMS[key].policy == 'random' and not set(arms[key]) <= set(
                arms.get(source, [])):
            # a random arm draws from its searching arm's result: that arm
            # must be run (or done) for those seeds
            missing = sorted(set(arms[key]) - set(arms.get(source, [])))
            arms[source] = arms.get(source, []) + missing
    return arms


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


def schedule_tag(search_iters: int, max_iters: int, smoke: bool) -> str:
    """The folder of one schedule's results: runs of different schedules are
    different experiments."""
    return ('smoke_' if smoke else '') + (f'camvid-cpu-128x128_search'
                                          f'{search_iters}_train{max_iters}')


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


@dataclass(frozen=True)
class Schedule:
    """Iterations of the experiment: ``max_iters`` of training for every arm
    (times ``iters_factor``), ``search_iters`` before it for D."""
    search_iters: int
    max_iters: int
    smoke: bool = False

    @property
    def tag(self) -> str:
        return schedule_tag(self.search_iters, self.max_iters, self.smoke)


def default_schedule(max_iters: Optional[int], search_iters: Optional[int],
                     smoke: bool) -> Schedule:
    """The configs' schedule (1000 training, 250 search iterations), or the
    given one; --smoke: 2 and 2."""
    if smoke:
        return Schedule(2, 2, True)
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, DAS_CONFIG))
    return Schedule(
        search_iters
        if search_iters is not None else cfg.das_search.search_iters,
        max_iters if max_iters is not None else cfg.train_cfg.max_iters)


def make_runs(work_dir: str,
              results_dir: str,
              data_dir: str,
              arms: Dict[str, List[int]],
              schedule: Schedule,
              machine: str,
              draws: int = 1) -> List[Run]:
    """The runs, seed by seed, the longest arm first; R after D of its
    seed. ``work_dir`` and ``results_dir`` are the schedule's folders."""
    from mmengine.config import Config
    frames = das_model_config().num_frames
    by_key: Dict[Tuple[str, int, int], Run] = {}
    for key in ARM_ORDER:
        if key not in arms:
            continue
        arm = ARMS[key]
        cfg = Config.fromfile(osp.join(CONFIG_DIR, arm.config))
        factor = frames if arm.iters_factor == 'frames' else arm.iters_factor
        max_iters = schedule.max_iters * factor
        common = {
            f'{loader}.dataset.data_root': data_dir
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')
        }
        common.update(schedule_options(cfg, max_iters))
        search = 0
        if arm.policy == 'search':
            search = schedule.search_iters
            common['das_search.search_iters'] = search
        if schedule.smoke:
            common.update(SMOKE_OPTIONS)
            common.update(smoke_crop_options(cfg))
        if arm.policy in ('identity', 'random'):
            common['das_search.mode'] = 'train'
        common.update(dict(arm.options))
        cfg.merge_from_dict(common)
        crop = next(t['crop_size']
                    for t in cfg.train_dataloader.dataset.pipeline
                    if t['type'] == 'RandomCrop')
        for seed in arms[key]:
            for draw in range(draws if arm.policy == 'random' else 1):
                options = dict(common)
                options['randomness.seed'] = seed
                if arm.policy == 'search':  # each seed its own 50/50 split
                    options['das_search.split_seed'] = seed
                run = Run(arm, seed, draw, '', options, search + max_iters,
                          search, max_iters, cfg.train_dataloader.batch_size,
                          tuple(crop), results_dir, machine,
                          frames if arm.is_clip else 1)
                run.work_dir = osp.join(work_dir, run.name)
                if run.policy_file is not None:
                    options['das_search.policy_file'] = run.policy_file
                if schedule.smoke:  # in one process: each run its own
                    # visualizer (the config's name would hand every run the
                    # first one's)
                    options['visualizer.name'] = run.name
                by_key[(key, seed, draw)] = run
    for (key, seed, _), run in by_key.items():
        if ARMS[key].policy == 'random':
            run.depends_on = by_key.get((ARMS[key].depends, seed, 0))
    order = {key: i for i, key in enumerate(ARM_ORDER)}
    return sorted(
        by_key.values(), key=lambda r: (r.seed, order[r.arm.key], r.draw))


# --- policies ----------------------------------------------------------------
def das_model_config():
    """The ``model`` of the DAS config (T is its ``num_frames``)."""
    from mmengine.config import Config
    return Config.fromfile(osp.join(CONFIG_DIR, DAS_CONFIG)).model


def write_identity_policy(path: str) -> str:
    """The policy of I: every node sums the identity of both inputs, so every
    frame of the clip is the image."""
    from das_mmseg.augment.policy import Policy
    model = das_model_config()
    policy = Policy(
        ops=tuple(model.clip_cell.ops),
        nodes=[[(0, 'identity'), (1, 'identity')]] * model.clip_cell.num_nodes,
        num_frames=model.num_frames)
    assert policy.is_identity()
    os.makedirs(osp.dirname(path), exist_ok=True)
    policy.save(path)
    return path


def draw_random_policy(das_policy: dict, seed: int, draw: int):
    """R's policy for ``seed``/``draw``: a random draw of D's space with the
    magnitudes of D's cell (redrawn from D's recorded ``magnitude_seed``,
    exactly as the cell drew them)."""
    from das_mmseg.augment.policy import Policy
    from das_mmseg.augment.random_policy import random_policy
    from das_mmseg.models import ClipCell
    searched = Policy.from_dict(das_policy)
    if searched.magnitude_seed is None:
        raise ValueError('the D policy records no magnitude_seed: its '
                         'magnitudes cannot be redrawn for R')
    cell = ClipCell.from_policy(
        searched,
        magnitude_seed=searched.magnitude_seed,
        edges_per_node=das_model_config().clip_cell.get('edges_per_node', 2))
    return random_policy(
        searched.ops,
        cell.magnitudes.detach(),
        searched.num_frames,
        seed=[seed, draw],
        edges_per_node=cell.edges_per_node,
        ref_frame=searched.ref_frame,
        progression=searched.progression,
        magnitude_seed=searched.magnitude_seed)


def prepare_policy(run: Run) -> Optional[dict]:
    """Write the policy file an I or R run trains with; its dict."""
    from das_mmseg.augment.policy import Policy
    if run.arm.policy == 'identity':
        if not osp.isfile(run.policy_file):
            write_identity_policy(run.policy_file)
        return Policy.load(run.policy_file).to_dict()
    if run.arm.policy == 'random':
        with open(run.depends_on.result_file) as f:
            das_policy = json.load(f)['policy']
        policy = draw_random_policy(das_policy, run.seed, run.draw)
        os.makedirs(run.work_dir, exist_ok=True)
        policy.save(run.policy_file)
        return policy.to_dict()
    return None


# --- training ----------------------------------------------------------------
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


def count_run_flops(run: Run, checkpoint: str, in_process: bool) -> dict:
    """Multiply-adds of one forward pass of the trained model (its clip
    policy from the checkpoint), per val image and per training crop, by
    ``tools/analysis_tools/get_flops.py`` (in a subprocess unless
    ``in_process``)."""
    flops = {}
    options = [f'{k}={cli_value(v)}' for k, v in run.options.items()]
    for name, shape in (('per_val_image', VAL_SHAPE), ('per_train_crop',
                                                       run.crop_size)):
        argv = [
            run.config, '--checkpoint', checkpoint, '--shape',
            str(shape[0]),
            str(shape[1]), '--json', '--cfg-options', *options
        ]
        if in_process:
            with contextlib.redirect_stdout(io.StringIO()):
                out = load_module(GET_FLOPS, 'das_get_flops').main(argv)
        else:
            done = subprocess.run([sys.executable, GET_FLOPS, *argv],
                                  capture_output=True,
                                  text=True,
                                  env=dict(os.environ, OMP_NUM_THREADS='1'),
                                  cwd=ROOT)
            if done.returncode:
                raise RuntimeError(f'get_flops.py failed on {checkpoint}:\n'
                                   f'{done.stderr[-2000:]}')
            out = json.loads(done.stdout.strip().splitlines()[-1])
        flops[name] = out['flops']['model']
    flops['val_shape'] = list(VAL_SHAPE)
    flops['train_crop'] = list(run.crop_size)
    return flops


def search_summary(work_dir: str) -> Optional[dict]:
    """What the search's diagnostics showed (``das_alpha.json`` of
    ``DASPolicyHook``): the α steps, softmax(α)'s entropy at the end, the
    mean identity pull, and for unrolled steps the median implicit /
    direct ratio; None without the file."""
    path = osp.join(work_dir, 'das_alpha.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        steps = json.load(f)['diagnostics']
    if not steps:
        return None

    def values(key):
        return sorted(s[key] for s in steps if key in s)

    summary = dict(
        alpha_steps=len(steps),
        alpha_entropy_end=steps[-1].get('alpha_entropy'),
        identity_pull_mean=(sum(values('identity_pull')) /
                            max(len(values('identity_pull')), 1)))
    ratios = values('implicit_ratio')
    if ratios:
        summary['implicit_ratio_median'] = ratios[len(ratios) // 2]
    return summary


def train(run: Run, in_process: bool, machine: dict) -> dict:
    """Train one run (or resume it) and write its result JSON."""
    from das_mmseg.augment.policy import Policy
    start = time.time()
    policy = prepare_policy(run)
    argv = run.argv()
    resumed = '--resume' in argv
    log = run.work_dir + '.log'
    if in_process:
        load_module(TRAIN, 'das_train_tool').main(argv)
    else:
        env = dict(
            os.environ,
            OMP_NUM_THREADS='1',
            MKL_NUM_THREADS='1',
            PYTHONPATH=ROOT)
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
    wall = time.time() - start
    result = dict(
        arm=run.arm.key, label=run.arm.label, seed=run.seed, frames=run.frames)
    if run.arm.policy == 'random':
        result['draw'] = run.draw
    result.update(final_metrics(run.work_dir, run.total_iters))
    if run.arm.policy == 'search':
        policy = Policy.load(osp.join(run.work_dir,
                                      'das_policy.json')).to_dict()
        result['search'] = search_summary(run.work_dir)
    checkpoint = osp.join(run.work_dir, f'iter_{run.total_iters}.pth')
    displacement = None
    if policy is not None:
        displacement = [
            round(d, 3)
            for d in Policy.from_dict(policy).displacement(run.crop_size)
        ]
    result.update(
        policy=policy,
        displacement_px=displacement,
        config=osp.relpath(run.config, ROOT),
        options={
            k: cli_value(v)
            for k, v in run.options.items()
            if 'data_root' not in k and k != 'visualizer.name'
        },
        search_iters=run.search_iters,
        max_iters=run.max_iters,
        batch_size=run.batch_size,
        flops=count_run_flops(run, checkpoint, in_process),
        wall_s=round(wall, 1),
        resumed=resumed,
        machine=machine['key'],
        cpu=machine['cpu'],
        torch=machine['torch'],
        load_average=round(os.getloadavg()[0], 2),
        commit=git_commit(),
        finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    os.makedirs(run.results_dir, exist_ok=True)
    tmp = run.result_file + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, run.result_file)
    return result


def run_all(runs: List[Run], jobs: int, in_process: bool,
            machine: dict) -> List[str]:
    """Train the runs that are not done, ``jobs`` at a time, each when what
    it depends on is done; the names of those that failed or could not
    start."""
    pending = [r for r in runs if not r.is_done()]
    for run in runs:
        if run not in pending:
            print(f'{run.name}: done, skipped')
    failed: List[str] = []

    def one(run: Run) -> None:
        print(f'{time.strftime("%H:%M:%S")} {run.name}: start', flush=True)
        try:
            result = train(run, in_process, machine)
        except Exception as e:  # report, and go on with the other runs
            print(f'{time.strftime("%H:%M:%S")} {run.name}: {e}', flush=True)
            failed.append(run.name)
            return
        print(
            f'{time.strftime("%H:%M:%S")} {run.name}: mIoU '
            f'{result["mIoU"]:.2f} in {result["wall_s"]:.0f} s',
            flush=True)

    def next_ready() -> Optional[Run]:
        return next((r for r in pending if r.is_ready()), None)

    if in_process or jobs == 1:
        while (run := next_ready()) is not None:
            pending.remove(run)
            one(run)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = set()
            while True:
                while len(futures) < jobs and (run := next_ready()):
                    pending.remove(run)
                    futures.add(pool.submit(one, run))
                if not futures:
                    break
                _, futures = wait(futures, return_when=FIRST_COMPLETED)
    for run in pending:  # what they depend on failed
        print(f'{run.name}: not run, {run.depends_on.name} has no result')
        failed.append(run.name)
    return failed


# --- the table ---------------------------------------------------------------
def load_results(results_dir: str) -> List[dict]:
    results = []
    for path in sorted(glob.glob(osp.join(results_dir, '*.json'))):
        with open(path) as f:
            results.append(json.load(f))
    return results


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


def describe_policy(policy) -> List[str]:
    """One cell per intermediate node: its kept edges (op, magnitude,
    source), ``[unused]`` where it is on no path to the clip."""

    def source(s: int) -> str:
        return f'in{s}' if s < 2 else f'n{s}'

    def term(e) -> str:
        magnitude = '' if e.magnitude is None else f' {e.magnitude:.3g}'
        return f'{e.op}{magnitude} ({source(e.source)})'

    used = used_nodes(policy)
    return [
        ' + '.join(term(e) for e in edges) + ('' if used[n] else ' [unused]')
        for n, edges in enumerate(policy.nodes)
    ]


def signed(value: float) -> str:
    return f'{value:+.2f}'


def machine_table(results: List[dict], machine: str) -> List[str]:
    """The tables of one machine's runs."""
    from das_mmseg.analysis.paired import (paired_difference, per_seed,
                                           summarize)
    from das_mmseg.augment.policy import Policy
    mine = [r for r in results if r['machine'] == machine]
    cpu = mine[0]['cpu']
    lines = [
        f'### Machine `{machine}`: {cpu}, torch {mine[0]["torch"]} '
        f'({len(mine)} runs)', ''
    ]
    reference = [r for r in mine if r['arm'] == 'A']
    ref_compute = (
        reference[0]['flops']['per_train_crop'] *
        reference[0]['max_iters'] if reference else None)
    lines += [
        '| arm | what | T | iterations (search + train) | '
        'training compute (x A) | seeds | mIoU mean ± std | wall per run |',
        '| --- | --- | -: | -: | -: | --- | -: | -: |'
    ]
    values = {}
    for key in ARM_ORDER:
        runs = [r for r in mine if r['arm'] == key]
        if not runs:
            continue
        values[key] = per_seed(mine, key, machine)
        first = runs[0]
        compute = '—'
        if ref_compute:
            ratio = (
                first['flops']['per_train_crop'] * first['max_iters'] /
                ref_compute)
            compute = f'{ratio:.2f}'
        seeds = sorted(values[key])
        frames = first['frames']
        iters = (f'{first["search_iters"]} + {first["max_iters"]}'
                 if first['search_iters'] else str(first['max_iters']))
        wall = sum(r['wall_s'] for r in runs) / len(runs) / 60
        lines.append(f'| {key} | {ARMS[key].label} | {frames} | {iters} | '
                     f'{compute} | {compact_seeds(seeds)} (n = '
                     f'{len(seeds)}) | {summarize(values[key].values())} | '
                     f'{wall:.1f} min |')
    lines += [
        '', '| difference (paired seeds) | n | mean | std | 95 % CI (t) | '
        'supports |', '| --- | -: | -: | -: | --- | --- |'
    ]
    for first, second in DIFFERENCES:
        if first not in values or second not in values:
            continue
        diff = paired_difference(first, second, values[first], values[second])
        if diff is None:
            continue
        std = '—' if diff.std is None else f'{diff.std:.2f}'
        interval = ('—' if diff.low is None else
                    f'[{signed(diff.low)}, {signed(diff.high)}]')
        lines.append(f'| {first} − {second} | {diff.n} | {signed(diff.mean)} '
                     f'| {std} | {interval} | {diff.verdict()} |')
    policies = [
        r for r in mine
        if ARMS[r['arm']].policy in ('search', 'random') and r['policy']
    ]
    if policies:
        first = Policy.from_dict(policies[0]['policy'])
        lines += [
            '',
            'Policies of the searching arms (derived) and the random arms: '
            'per intermediate node '
            'the kept edges (op, magnitude per step, source; n2.. are the '
            'nodes, the clip is the last; [unused]: on no path to it), and '
            'the mean pixel displacement of each frame on the training crops:',
            '', '| arm | seed | mIoU | ' +
            ' | '.join(f'n{n + 2}' for n in range(first.num_nodes)) +
            ' | px per frame | search: α entropy at the end, mean identity '
            'pull (, median implicit/direct) |', '| --- | -: | -: | ' +
            ' | '.join('---'
                       for _ in range(first.num_nodes)) + ' | --- | --- |'
        ]
        for r in sorted(policies, key=lambda r: (r['arm'], r['seed'])):
            policy = Policy.from_dict(r['policy'])
            name = r['arm'] + (f' draw {r["draw"]}' if 'draw' in r else '')
            shift = ', '.join(f'{d:.1f}' for d in r['displacement_px'])
            lines.append(f'| {name} | {r["seed"]} | {r["mIoU"]:.2f} | ' +
                         ' | '.join(describe_policy(policy)) + f' | {shift} | '
                         f'{describe_search(r.get("search"))} |')
    return lines


def describe_search(summary: Optional[dict]) -> str:
    """The search diagnostics of a result, or a dash."""
    if not summary:
        return '—'
    parts = [
        f'{summary["alpha_entropy_end"]:.4f}',
        f'{summary["identity_pull_mean"]:+.3f}'
    ]
    if 'implicit_ratio_median' in summary:
        parts.append(f'{summary["implicit_ratio_median"]:.2f}')
    return ', '.join(parts)


def compact_seeds(seeds: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` as ``0-2, 5``."""
    parts, start = [], None
    for i, s in enumerate(seeds):
        if start is None:
            start = s
        if i + 1 == len(seeds) or seeds[i + 1] != s + 1:
            parts.append(str(start) if start == s else f'{start}-{s}')
            start = None
    return ', '.join(parts)


def table(results: List[dict]) -> str:
    """The markdown tables of every machine's runs, the largest first."""
    from das_mmseg.analysis.paired import machines_by_size
    if not results:
        return 'no finished runs'
    lines: List[str] = []
    for machine in machines_by_size(results):
        if lines:
            lines.append('')
        lines += machine_table(results, machine)
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'camvid_root', help='CamVid of the SegNet release (train, val)')
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'camvid_evidence'),
        help='run folders and logs (default: work_dirs/camvid_evidence)')
    parser.add_argument(
        '--results',
        help='result JSONs and table.md, one folder per schedule (default: '
        'results/camvid_evidence, committed; --smoke: WORK_DIR/results)')
    parser.add_argument(
        '--data-dir',
        help='the converted data (default: data/camvid_cpu; --smoke: '
        'WORK_DIR/data)')
    parser.add_argument(
        '--arms',
        nargs='+',
        default=list(DEFAULT_ARMS),
        help='arms to run, each ARM or ARM=SEEDS (default: '
        f'{" ".join(DEFAULT_ARMS)}); the arms: {", ".join(ARMS)}')
    parser.add_argument(
        '--seeds',
        nargs='+',
        default=list(DEFAULT_SEEDS),
        help='seeds of the arms that give none: numbers, ranges a-b, lists '
        'a,b (default: 0-9)')
    parser.add_argument(
        '--draws', type=int, default=1, help='random policies per seed (R)')
    parser.add_argument(
        '--max-iters',
        type=int,
        help='training iterations (D: after the search; A4: T times it; '
        'default: the configs\' 1000)')
    parser.add_argument(
        '--search-iters',
        type=int,
        help='search iterations of D (default: the config\'s 250)')
    parser.add_argument(
        '--jobs', type=int, default=2, help='trainings at a time')
    parser.add_argument(
        '--table-only',
        action='store_true',
        help='print the table of the finished runs, train nothing')
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='tiny runs in this process: a check of the pieces')
    args = parser.parse_args(argv)
    for name in ('jobs', 'max_iters', 'search_iters', 'draws'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    try:
        args.arms = parse_arms(args.arms, parse_seeds(args.seeds))
    except ValueError as e:
        parser.error(str(e))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.time()
    work_root = osp.abspath(args.work_dir)
    schedule = default_schedule(args.max_iters, args.search_iters, args.smoke)
    results_root = args.results or (osp.join(work_root, 'results')
                                    if args.smoke else osp.join(
                                        ROOT, 'results', 'camvid_evidence'))
    results_dir = osp.join(osp.abspath(results_root), schedule.tag)
    work_dir = osp.join(work_root, schedule.tag)
    data_dir = args.data_dir or (osp.join(work_root, 'data') if args.smoke else
                                 osp.join(ROOT, 'data', 'camvid_cpu'))
    data_dir = osp.abspath(data_dir)
    machine = machine_info()
    failed: List[str] = []
    if not args.table_only:
        os.makedirs(work_dir, exist_ok=True)
        ensure_data(args.camvid_root, data_dir)
        runs = make_runs(work_dir, results_dir, data_dir, args.arms, schedule,
                         machine['key'], args.draws)
        print(
            f'machine {machine["key"]}: {machine["cpu"]}; '
            f'{sum(not r.is_done() for r in runs)} of {len(runs)} runs to '
            f'do; results in {results_dir}',
            flush=True)
        failed = run_all(runs, args.jobs, args.smoke, machine)
    text = table(load_results(results_dir))
    os.makedirs(results_dir, exist_ok=True)
    with open(osp.join(results_dir, 'table.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    if not args.table_only:
        print(f'\nwall time {time.time() - start:.0f} s '
              f'({", ".join(failed) or "none"} failed)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
