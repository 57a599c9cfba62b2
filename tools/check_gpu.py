"""The first command to run on a GPU machine: does das_mmseg work there, and
what does it cost at the paper's sizes?

    python tools/check_gpu.py [--out work_dirs/check_gpu] [--quick]
    python tools/check_gpu.py --device cpu --quick   # a rehearsal on the CPU

Checks, each ``ok``, ``failed`` (with the command's last output) or
``skipped`` (with what the machine lacks):

- ``environment``: torch, CUDA, the cards, bf16 support, mmcv and the CUDA
  version its ops were compiled with;
- ``mmcv_ops``: a compiled mmcv op (``nms``) run on the device;
- ``demo_fp32``, ``demo_amp``: the demo config (``make demo``'s) trained
  with ``tools/train.py`` in float32 and with ``--amp``, then evaluated with
  ``tools/test.py`` on its checkpoint: the two mIoUs;
- ``dist_search``: ``tools/dist_train.sh`` on every visible GPU (NCCL; on the
  CPU two processes over gloo) for a few search iterations: α after every
  iteration equal on every rank, one policy;
- ``benchmarks``: ``tools/benchmark.py clip`` (the clip cell against the
  authors' per-frame loop; a clip model's iteration against the image
  repeated T times), ``backbone`` (GSF-ResNet-50 against ResNet-50 on N·T
  frames) and ``search`` (the α step's overhead), CUDA synchronised;
- ``paper_step``: one training step of the paper's VOC and Cityscapes
  settings (GSF-ResNet-50 PSPNet, T = 8; batch 4 of 380x380, batch 1 of
  512x1024) against the image baseline: median time and the peak memory
  allocated above the step's start, float32 and fp16 autocast, next to what
  the meta-device count (``tools/benchmark.py memory``) predicted for the
  float32 step (its transient memory).

Writes ``OUT/check_gpu.json`` (every figure) and prints a summary; exits 1
if a check failed. ``--quick`` shortens the trainings (2 search + 2
training iterations) and shrinks the sizes (64x64 crops, batch 1): the
rehearsal the test suite runs on the CPU.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap
import time
import traceback
import warnings

# setuptools' deprecation notice for pkg_resources, printed by the OpenMMLab
# packages when they are imported, says nothing about this run
warnings.filterwarnings(
    'ignore', message='pkg_resources is deprecated', category=UserWarning)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # das_mmseg from a checkout
sys.path.insert(0, osp.join(ROOT, 'tools'))  # the benchmarks package

import torch  # noqa: E402

DEMO = 'configs/das/das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py'  # noqa: E501
QUICK = [
    'das_search.search_iters=2', 'train_cfg.max_iters=2',
    'train_cfg.val_interval=2', 'param_scheduler.0.end=2'
]


class Skip(Exception):
    """The machine lacks what the check needs."""


class Context:
    """What the checks share: the device, the output folder, the mode."""

    def __init__(self, args) -> None:
        self.device = torch.device(args.device)
        self.cuda = self.device.type == 'cuda'
        self.out = osp.abspath(args.out)
        self.quick = args.quick
        self.gpus = torch.cuda.device_count() if self.cuda else 0
        self.pairs = args.pairs

    def need_cuda(self, what: str) -> None:
        if not self.cuda:
            raise Skip(f'{what} needs a CUDA device (this run: '
                       f'{self.device.type})')

    def run(self, name: str, args, env=None, timeout=3600) -> str:
        """Run a project command (``args[0]`` relative to the root; ``.py``
        with this Python); its output goes to ``OUT/<name>.log``. Returns
        the output; a non-zero exit fails the check with the last lines."""
        cmd = list(args)
        cmd = ([sys.executable, osp.join(ROOT, cmd[0])] + cmd[1:] if
               cmd[0].endswith('.py') else [osp.join(ROOT, cmd[0])] + cmd[1:])
        full_env = dict(
            os.environ, PYTHON=sys.executable, PYTHONWARNINGS='ignore')
        full_env.update(env or {})
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout)
        output = proc.stdout + proc.stderr
        with open(osp.join(self.out, f'{name}.log'), 'w') as f:
            f.write(' '.join(cmd) + '\n' + output)
        if proc.returncode != 0:
            tail = '\n'.join(output.strip().splitlines()[-15:])
            raise RuntimeError(f'{" ".join(cmd[1:3])} exited with '
                               f'{proc.returncode}:\n{tail}')
        return output


def check_environment(ctx: Context) -> dict:
    import mmcv
    out = dict(
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        mmcv=mmcv.__version__,
        device=str(ctx.device))
    try:
        from mmcv.ops import get_compiler_version, get_compiling_cuda_version
        out.update(
            mmcv_ops_cuda=get_compiling_cuda_version(),
            mmcv_ops_compiler=get_compiler_version())
    except ImportError as e:
        raise RuntimeError(f'mmcv has no compiled ops ({e}): install the '
                           'full mmcv (README, "mmcv with compiled ops")')
    if ctx.cuda:
        out.update(
            gpus=[torch.cuda.get_device_name(i) for i in range(ctx.gpus)],
            bf16=torch.cuda.is_bf16_supported(),
            memory_gib=round(
                torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
    return out


def check_mmcv_ops(ctx: Context) -> dict:
    ctx.need_cuda('mmcv\'s CUDA ops')
    from mmcv.ops import get_compiling_cuda_version, nms
    if get_compiling_cuda_version() == 'not available':
        raise RuntimeError(
            'mmcv\'s ops were compiled without CUDA: rebuild them with '
            'FORCE_CUDA=1 PYTHON=.venv/bin/python tools/setup/build_mmcv.sh '
            '(README, "On a GPU")')
    boxes = torch.tensor(
        [[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]],
        device=ctx.device)
    scores = torch.tensor([0.9, 0.8, 0.7], device=ctx.device)
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    if keep.tolist() != [0, 2]:
        raise RuntimeError(f'mmcv nms on CUDA kept {keep.tolist()}, '
                           'expected [0, 2]')
    return dict(nms='ok')


def _train_and_test(ctx: Context, name: str, extra) -> dict:
    work_dir = osp.join(ctx.out, name)
    options = QUICK if ctx.quick else []
    start = time.perf_counter()
    ctx.run(f'{name}_train', ['tools/train.py', DEMO, '--work-dir', work_dir] +
            extra + (['--cfg-options'] + options if options else []))
    train_s = time.perf_counter() - start
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    output = ctx.run(f'{name}_test', [
        'tools/test.py', DEMO, checkpoint, '--work-dir',
        osp.join(work_dir, 'test')
    ])
    found = re.findall(r'mIoU: ([0-9.]+)', output)
    if not found:
        raise RuntimeError(f'no mIoU in the output of tools/test.py '
                           f'(OUT/{name}_test.log)')
    return dict(
        mIoU=float(found[-1]),
        train_seconds=round(train_s, 1),
        checkpoint=checkpoint)


def check_demo_fp32(ctx: Context) -> dict:
    return _train_and_test(ctx, 'demo_fp32', [])


def check_demo_amp(ctx: Context) -> dict:
    ctx.need_cuda('--amp (mmengine\'s AmpOptimWrapper)')
    return _train_and_test(ctx, 'demo_amp', ['--amp'])


PROBE = '''
import os.path as osp
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DumpAlphaPerRank(Hook):
    """Each rank saves α after every iteration and its policy at the end."""

    def before_run(self, runner):
        self.alphas = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = getattr(runner.model, 'module', runner.model)
        self.alphas.append(model.clip_cell.alpha.detach().cpu().clone())

    def after_run(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        torch.save(dict(alphas=torch.stack(self.alphas),
                        policy=model.clip_cell.policy.to_dict()),
                   osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
'''


def check_dist_search(ctx: Context) -> dict:
    folder = osp.join(ctx.out, 'dist_search')
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'das_gpu_probe.py'), 'w') as f:
        f.write(PROBE)
    config = osp.join(folder, 'dist_search.py')
    with open(config, 'w') as f:
        f.write(
            textwrap.dedent(f'''\
            _base_ = [{osp.join(ROOT, DEMO)!r}]
            custom_imports = dict(imports=['das_mmseg', 'das_gpu_probe'],
                                  allow_failed_imports=False)
            train_cfg = dict(max_iters=2, val_interval=100)
            das_search = dict(search_iters=4)
            param_scheduler = [
                dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=2,
                     by_epoch=False)
            ]
            custom_hooks = [dict(type='DASPolicyHook'),
                            dict(type='DumpAlphaPerRank')]
            '''))
    ranks = ctx.gpus if ctx.cuda else 2
    work_dir = osp.join(folder, 'work')
    output = ctx.run(
        'dist_search',
        ['tools/dist_train.sh', config,
         str(ranks), '--work-dir', work_dir],
        env=dict(PYTHONPATH=folder, PORT=str(29600 + os.getpid() % 200)))
    dumps = [
        torch.load(osp.join(work_dir, f'rank{r}.pth')) for r in range(ranks)
    ]
    alphas = [d['alphas'] for d in dumps]
    equal = all(torch.equal(alphas[0], a) for a in alphas[1:])
    moved = not torch.equal(alphas[0][0], alphas[0][3])
    policies = [d['policy'] for d in dumps]
    if not equal or any(p != policies[0] for p in policies):
        raise RuntimeError('α or the policy differs between ranks')
    if not moved:
        raise RuntimeError('α did not move during the 4 search iterations')
    backend = re.findall(r"'backend': '(\w+)'", output)
    return dict(
        ranks=ranks,
        backend=backend[0] if backend else 'nccl' if ctx.cuda else 'gloo',
        alpha_equal_on_every_rank=equal,
        iterations=int(alphas[0].shape[0]))


def _benchmark(ctx: Context, name: str, args) -> dict:
    output = ctx.run(
        f'benchmark_{name}',
        ['tools/benchmark.py', args[0], '--json', '--device', ctx.device.type
         ] + args[1:])
    figures = json.loads(output[output.index('{'):output.rindex('}') + 1])
    return {
        title:
        dict(
            ratios={
                k: round(v, 3)
                for k, v in c['ratios'].items()
            },
            seconds={
                k: round(v, 5)
                for k, v in c['seconds'].items()
            },
            peak_memory_mb=c['peak_memory_mb'])
        for title, c in figures.items()
    }


def check_benchmarks(ctx: Context) -> dict:
    if ctx.quick:
        runs = dict(
            clip=[
                'clip', '--seg-size', '64', '--cifar-batch', '4',
                '--seg-batch', '1', '--skip', 'pipeline', '--warmup', '1',
                '--repeats', '2'
            ],
            backbone=[
                'backbone', '--arch', 'r18', '--num-segments', '2', '--size',
                '64', '--warmup', '1', '--repeats', '2'
            ],
            search=['search', '--warmup', '1', '--repeats', '2'])
    else:
        runs = dict(
            clip=['clip'],
            backbone=[
                'backbone', '--arch', 'r50', '--clips', '4', '--num-segments',
                '8', '--size', '380'
            ],
            search=['search', '--base-channels', '64', '--batch-size', '4'])
    return {name: _benchmark(ctx, name, args) for name, args in runs.items()}


def check_paper_step(ctx: Context) -> dict:
    from benchmarks.memory import PAIRS, build
    from mmengine.logging import MMLogger
    from mmengine.optim import OptimWrapperDict

    from das_mmseg.analysis.memory import training_memory
    from das_mmseg.engine.arch_step import _grads, batch_loss, frozen_buffers
    from das_mmseg.utils.benchmark import compare

    # the models' builders log every parameter's options at INFO
    MMLogger.get_instance('check_gpu', log_level='WARNING')
    size, batch = ((64, 64), 1) if ctx.quick else (None, None)
    precisions = ['fp32'] + (['fp16'] if ctx.cuda else [])
    out = {}
    for pair in ctx.pairs:
        das_config, image_config = PAIRS[pair]
        candidates, estimates = {}, {}
        for label, config in (('image', image_config), ('DAS', das_config)):
            model, wrapper, data, settings = build(config, ctx.device, size,
                                                   batch)
            searchable = isinstance(wrapper, OptimWrapperDict)
            weights = (wrapper['model'] if searchable else wrapper).optimizer
            meta_model, meta_wrapper, meta_data, _ = build(
                config, torch.device('meta'), size, batch)
            meta_steps = training_memory(
                meta_model, meta_data, (meta_wrapper['model'] if searchable
                                        else meta_wrapper).optimizer,
                meta_wrapper['policy'].optimizer if searchable else None)
            del meta_model, meta_wrapper
            for precision in precisions:
                autocast = dict(
                    device_type=ctx.device.type,
                    dtype=torch.float16,
                    enabled=precision == 'fp16')

                def weight_step(model=model,
                                data=data,
                                weights=weights,
                                autocast=autocast):
                    with torch.autocast(**autocast):
                        loss, _ = model.parse_losses(
                            model(
                                **model.data_preprocessor(dict(data), True),
                                mode='loss'))
                    loss.backward()
                    weights.step()
                    weights.zero_grad(set_to_none=True)

                candidates[f'{label} weight step, {precision}'] = weight_step
                if searchable:
                    cell = model.clip_cell
                    params = list(cell.arch_parameters())

                    def alpha_step(model=model,
                                   data=data,
                                   cell=cell,
                                   params=params,
                                   autocast=autocast):
                        with cell.arch_grad(), frozen_buffers(
                                model), torch.autocast(**autocast):
                            _grads(batch_loss(model, dict(data)), params)

                    candidates[f'{label} α step, {precision}'] = alpha_step
            for step_name, step in meta_steps.items():
                estimates[f'{label} {step_name}, fp32'] = step
        figures = compare(
            f'paper step: {pair}',
            candidates,
            ctx.device,
            warmup=1,
            repeats=2 if ctx.quick else 5,
            settings=settings)
        out[pair] = dict(
            settings=settings,  # the DAS config's, built last
            device=figures.device,
            seconds={
                k: round(v, 4)
                for k, v in figures.seconds.items()
            },
            ratio_to_image_fp32={
                k: round(v, 3)
                for k, v in figures.ratios.items()
            },
            # above the step's start (parameters and optimizer state
            # excluded), as the meta-device count's transient memory
            peak_allocated_mb=figures.peak_memory_mb,
            estimated_mb={
                k: round(v.transient / 2**20, 1)
                for k, v in estimates.items()
            })
    return out


CHECKS = dict(
    environment=check_environment,
    mmcv_ops=check_mmcv_ops,
    demo_fp32=check_demo_fp32,
    demo_amp=check_demo_amp,
    dist_search=check_dist_search,
    benchmarks=check_benchmarks,
    paper_step=check_paper_step)


def summary(report: dict) -> str:
    lines = [
        f'das_mmseg GPU check on {report["device"]} '
        f'({report["seconds"]:.0f} s): {report["out"]}'
    ]
    for name, result in report['checks'].items():
        status = result['status']
        detail = result.get('reason') or result.get('error', '')
        figures = result.get('figures', {})
        if name.startswith('demo') and status == 'ok':
            detail = (f'mIoU {figures["mIoU"]:.2f}, trained in '
                      f'{figures["train_seconds"]:.0f} s')
        elif name == 'dist_search' and status == 'ok':
            detail = (f'{figures["ranks"]} rank(s) over '
                      f'{figures["backend"]}, α equal on every rank')
        elif name == 'paper_step' and status == 'ok':
            detail = '; '.join(
                f'{pair}: DAS weight step {ratio:.1f}x the image step'
                for pair, f in figures.items() for ratio in
                [f['ratio_to_image_fp32']['DAS weight step, fp32']])
        first_line = detail.splitlines()[0] if detail else ''
        lines.append(f'  {name:<12} {status:<8} {first_line}')
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='work_dirs/check_gpu')
    parser.add_argument(
        '--device',
        default=None,
        choices=['cuda', 'cpu'],
        help=('where to run the checks (default: cuda; without a CUDA '
              'device every check that needs one is skipped)'))
    parser.add_argument(
        '--quick',
        action='store_true',
        help='2 + 2 training iterations, 64x64 crops: a rehearsal')
    parser.add_argument(
        '--pairs',
        nargs='+',
        choices=['voc', 'cityscapes'],
        default=['voc', 'cityscapes'],
        help='paper_step: the settings to measure')
    parser.add_argument(
        '--only',
        nargs='+',
        choices=list(CHECKS),
        default=list(CHECKS),
        help='run only these checks')
    args = parser.parse_args(argv)
    if args.device is None:
        args.device = 'cuda'
    cuda_missing = args.device == 'cuda' and not torch.cuda.is_available()
    if cuda_missing:
        args.device = 'cpu'
    os.makedirs(args.out, exist_ok=True)
    ctx = Context(args)
    start = time.perf_counter()
    report = dict(
        device=(torch.cuda.get_device_name(0) if ctx.cuda else 'cpu'),
        out=ctx.out,
        quick=ctx.quick,
        checks={})
    for name in args.only:
        result = {}
        try:
            if cuda_missing and name != 'environment':
                raise Skip('no CUDA device is visible (torch.cuda.'
                           'is_available() is False); --device cpu '
                           'rehearses the checks on the CPU')
            result = dict(status='ok', figures=CHECKS[name](ctx))
        except Skip as e:
            result = dict(status='skipped', reason=str(e))
        except Exception as e:  # a failed check: the others still run
            result = dict(
                status='failed',
                error=f'{type(e).__name__}: {e}',
                traceback=traceback.format_exc())
        report['checks'][name] = result
        print(f'{name}: {result["status"]}', file=sys.stderr, flush=True)
    report['seconds'] = time.perf_counter() - start
    with open(osp.join(ctx.out, 'check_gpu.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print(summary(report))
    failed = [
        n for n, r in report['checks'].items() if r['status'] == 'failed'
    ]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
