"""A hostile-input and fault battery, run as a new user would run the tools
(issue 19): every case is a real command on real files, classified by what
the user sees.

    python tests/battery/hostile_battery.py [--out work_dirs/battery]

Outcomes: ``clear error`` (exit status 1, one ``error:`` line naming the
problem, no traceback), ``works`` (exit 0 and the case's own check holds; a
check tool: exit 1 and its findings),
and the failures: ``silent result``, ``unclear error`` (a traceback, or no
``error:`` line), ``crash`` (killed, or another exit status), ``data loss``
(a file that existed before is changed), ``hang`` (past the case's time
limit). Prints one line per case and a count per outcome; exit status 1 when
any case failed. Not part of the pytest suite (about 5 minutes on 2 cores):
each case here is also a test of the suite, named in the README's "What
happens when…" table.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from fixtures import ROOT, run_tool  # noqa: E402  (tests/fixtures.py)

DEMO = 'configs/das/das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py'  # noqa: E501
IMAGE = 'configs/das/pspnet_r18tiny-d16_1xb4-300iter_camvid-sample-96x96.py'
SHORT = [
    'das_search.search_iters=2', 'train_cfg.max_iters=2',
    'train_cfg.val_interval=2', 'param_scheduler.0.end=2',
    'default_hooks.checkpoint.interval=1'
]
SHORT_IMAGE = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2']
FAILURES = ('silent result', 'unclear error', 'crash', 'data loss', 'hang')


def run(args, timeout=300, env=None):
    """A tool of this checkout with this Python; (status, output, seconds),
    status None past ``timeout``."""
    start = time.perf_counter()
    try:
        proc = run_tool(
            args,
            timeout=timeout,
            env=dict(OMP_NUM_THREADS='1', **(env or {})),
            check=False)
    except subprocess.TimeoutExpired:
        return None, '', time.perf_counter() - start
    return (proc.returncode, proc.stdout + proc.stderr,
            time.perf_counter() - start)


def digest(folder):
    """Content hashes of every file in a folder (to see data loss)."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = osp.join(root, name)
            with open(path, 'rb') as f:
                out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


def judge(status, output, expect, check=None):
    """The outcome of one command run."""
    if status is None:
        return 'hang'
    if status < 0 or status not in (0, 1):
        return 'crash'
    if expect == 'report':  # a check tool: status 1 and the findings
        return 'works' if status == 1 and (
            check is None or check(output)) else 'silent result'
    if expect == 'error':
        if status == 0:
            return 'silent result'
        if 'Traceback' in output or not re.search(r'^error: ', output, re.M):
            return 'unclear error'
        if check is not None and not check(output):
            return 'unclear error'
        return 'clear error'
    if status != 0:
        return 'unclear error' if 'Traceback' in output else 'crash'
    if check is not None and not check(output):
        return 'silent result'
    return 'works'


def huge_png(path):
    import cv2
    import numpy as np
    ok, buf = cv2.imencode('.png', np.zeros((8, 8, 3), np.uint8))
    data = bytearray(buf.tobytes())
    data[16:24] = struct.pack('>II', 20000, 20000)
    data[29:33] = struct.pack('>I', zlib.crc32(bytes(data[12:29])))
    open(path, 'wb').write(data)


def sample_copy(out, name):
    """A copy of the bundled sample (train/val) to damage."""
    dest = osp.join(out, name)
    shutil.copytree(osp.join(ROOT, 'data', 'camvid_sample'), dest)
    return dest


def data_options(root):
    return [
        f'{loader}.dataset.data_root={root}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='work_dirs/battery')
    parser.add_argument(
        '--only', help='run only the cases whose name holds this text')
    args = parser.parse_args(argv)
    out = osp.abspath(args.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    import cv2
    import numpy as np

    # what the cases need: a DAS and an image checkpoint, a few files
    das, image = osp.join(out, 'das'), osp.join(out, 'image')
    for config, work, short in ((DEMO, das, SHORT), (IMAGE, image,
                                                     SHORT_IMAGE)):
        status, output, _ = run(
            ['tools/train.py', config, '--work-dir', work, '--cfg-options'] +
            short)
        assert status == 0, output[-3000:]
    das_ckpt, image_ckpt = osp.join(das, 'iter_4.pth'), osp.join(
        image, 'iter_2.pth')
    import torch
    empty_ckpt = osp.join(out, 'no_weights.pth')
    torch.save(dict(meta=dict(), state_dict={}), empty_ckpt)
    cut_ckpt = osp.join(out, 'cut.pth')
    data = open(das_ckpt, 'rb').read()
    open(cut_ckpt, 'wb').write(data[:len(data) // 2])
    one = osp.join(out, 'one.png')
    cv2.imwrite(one, np.full((1, 1, 3), 90, np.uint8))
    huge = osp.join(out, 'huge.png')
    huge_png(huge)
    zero = osp.join(out, 'zero.png')
    open(zero, 'wb').close()
    text = osp.join(out, 'notes.jpg')
    open(text, 'w').write('not an image')
    bad_policy = osp.join(out, 'policy.json')
    open(bad_policy, 'w').write('{"ops": ["shift_x"], "num_fr')

    def named(path):
        return lambda output: path in output

    cases = []

    def case(name, cmd, expect, check=None, timeout=300, env=None, keep=None):
        if args.only and args.only not in name:
            return
        before = digest(keep) if keep else None
        status, output, seconds = run(cmd, timeout, env)
        outcome = judge(status, output, expect, check)
        if keep:  # new files are fine; an earlier file changed or gone is not
            after = digest(keep)
            if any(after.get(path) != sha for path, sha in before.items()):
                outcome = 'data loss'
        line = [ln for ln in output.splitlines() if ln.startswith('error:')]
        cases.append(
            dict(
                case=name,
                outcome=outcome,
                seconds=round(seconds, 1),
                message=(line[0][:200]
                         if line else output.strip().splitlines()[-1][:200]
                         if output.strip() else '')))
        print(f'{outcome:14s} {seconds:6.1f} s  {name}', flush=True)

    demo = ['demo/image_demo.py']
    case('tools/test.py: the DAS config with the image checkpoint',
         ['tools/test.py', DEMO, image_ckpt], 'error',
         lambda o: 'CheckpointMismatchError' in o or 'does not fit' in o)
    case('tools/test.py: the image config with the DAS checkpoint',
         ['tools/test.py', IMAGE, das_ckpt], 'error')
    case('tools/test.py: a checkpoint without weights',
         ['tools/test.py', DEMO, empty_ckpt], 'error')
    case('tools/test.py: a truncated checkpoint',
         ['tools/test.py', DEMO, cut_ckpt], 'error', named(cut_ckpt))
    case('--resume with a foreign checkpoint', [
        'tools/train.py', DEMO, '--work-dir',
        osp.join(out, 'foreign'), '--resume', '--cfg-options',
        f'load_from={image_ckpt}'
    ] + SHORT, 'error')
    case(
        'a fresh run into a used work dir',
        ['tools/train.py', DEMO, '--work-dir', das, '--cfg-options'] + SHORT,
        'error',
        named(das),
        keep=das)
    case('--cfg-options num_frames=8', [
        'tools/train.py', DEMO, '--work-dir',
        osp.join(out, 'frames'), '--cfg-options', 'num_frames=8'
    ], 'error', lambda o: 'model.num_frames=8' in o)
    resumed = osp.join(out, 'resumed')
    shutil.copytree(das, resumed)
    case(
        '--resume with a changed learning rate',
        [
            'tools/train.py', DEMO, '--work-dir', resumed, '--resume',
            '--cfg-options', 'optim_wrapper.optimizer.lr=0.5'
        ] + SHORT[:4] + ['train_cfg.max_iters=4'],
        'error',
        keep=resumed)
    case('--resume after the switch: no warning', [
        'tools/train.py', DEMO, '--work-dir', resumed, '--resume',
        '--cfg-options'
    ] + SHORT[:1] + ['train_cfg.max_iters=4'] + SHORT[2:], 'works',
         lambda o: not re.search(r'(?i)warning', o))
    case('inference: a (0, 0, 3) array', [
        sys.executable, '-c',
        'import numpy as np; from das_mmseg import apis; '
        f'm = apis.init_model({DEMO!r}, {das_ckpt!r}, device="cpu"); '
        'from das_mmseg.utils.cli import run_main; '
        'run_main(lambda a: apis.inference_model(m, np.zeros((0, 0, 3), '
        'np.uint8)))'
    ], 'error', lambda o: 'holds no pixels' in o)
    for label, expr, words in (('a 4-D array',
                                'np.zeros((1, 8, 8, 3), np.uint8)',
                                'not an image'),
                               ('an all-NaN float image',
                                'np.full((8, 8, 3), np.nan, np.float32)',
                                'NaN'), ('an RGBA array',
                                         'np.zeros((8, 8, 4), np.uint8)',
                                         'alpha'),
                               ('a grayscale array',
                                'np.zeros((8, 8), np.uint8)', 'GRAY2BGR')):
        case(
            f'DASInferencer: {label}', [
                sys.executable, '-c', 'import numpy as np; '
                'from das_mmseg.apis import DASInferencer; '
                f'i = DASInferencer({DEMO!r}, {das_ckpt!r}, device="cpu"); '
                'from das_mmseg.utils.cli import run_main; '
                f'run_main(lambda a: i({expr}))'
            ],
            'error',
            lambda o, w=words: w in o)
    case(
        'demo: a 1x1 PNG', demo + [
            one, DEMO, das_ckpt, '--out-file',
            osp.join(out, 'one_out.png'), '--show-clip'
        ], 'works', lambda o: osp.isfile(osp.join(out, 'one_out.png')))
    case(
        'demo: a PNG declaring 20000x20000 pixels',
        demo + [huge, DEMO, das_ckpt, '--out-file',
                osp.join(out, 'h.png')],
        'error',
        named(huge),
        timeout=120)
    case('demo: a 0-byte image', demo + [zero, DEMO, das_ckpt], 'error',
         named(zero))
    case('demo: a text file named .jpg', demo + [text, DEMO, das_ckpt],
         'error', named(text))
    case('demo: an image that does not exist',
         demo + [osp.join(out, 'nope.png'), DEMO, das_ckpt], 'error')
    case(
        'DAS_MMSEG_MAX_IMAGE_PIXELS=lots',
        demo + [one, DEMO, das_ckpt],
        'error',
        lambda o: 'not a pixel count' in o,
        env=dict(DAS_MMSEG_MAX_IMAGE_PIXELS='lots'))

    zero_train = sample_copy(out, 'zero_train')
    first = sorted(os.listdir(osp.join(zero_train, 'img_dir', 'train')))[0]
    bad = osp.join(zero_train, 'img_dir', 'train', first)
    open(bad, 'wb').close()
    case('training: a 0-byte training image', [
        'tools/train.py', DEMO, '--work-dir',
        osp.join(out, 'zero_run'), '--cfg-options'
    ] + SHORT + data_options(zero_train), 'error', named(bad))
    val_label = sample_copy(out, 'val_label')
    name = sorted(os.listdir(osp.join(val_label, 'ann_dir', 'val')))[0]
    ann = osp.join(val_label, 'ann_dir', 'val', name)
    seg = cv2.imread(ann, cv2.IMREAD_UNCHANGED)
    seg.flat[:5] = 200
    cv2.imwrite(ann, seg)
    case(
        'training: a val label value out of range',
        [
            'tools/train.py', DEMO, '--work-dir',
            osp.join(out, 'val_run'), '--cfg-options'
        ] + SHORT + data_options(val_label),
        'error',
        lambda o: ann in o and 'before the run started' in o,
        timeout=120)
    case('tools/test.py: a test label value out of range',
         ['tools/test.py', DEMO, das_ckpt, '--cfg-options'] +
         data_options(val_label)[2:], 'error', named(ann))
    wide = sample_copy(out, 'wide_label')
    name = sorted(os.listdir(osp.join(wide, 'ann_dir', 'train')))[0]
    ann16 = osp.join(wide, 'ann_dir', 'train', name)
    seg = cv2.imread(ann16, cv2.IMREAD_UNCHANGED).astype(np.uint16)
    seg[0, 0] = 259
    cv2.imwrite(ann16, seg)
    case('training: a 16-bit label holding 259 (uint8 would make it 3)', [
        'tools/train.py', DEMO, '--work-dir',
        osp.join(out, 'wide_run'), '--cfg-options'
    ] + SHORT + data_options(wide), 'error', named(ann16))
    case('check_dataset.py on the damaged training split', [
        'tools/analysis_tools/check_dataset.py', DEMO, '--split', 'train',
        '--cfg-options'
    ] + data_options(zero_train)[:1], 'report',
         lambda o: bad in o and 'empty file' in o)
    case('a malformed policy JSON', [
        'tools/train.py', DEMO, '--work-dir',
        osp.join(out, 'policy_run'), '--cfg-options',
        f'model.clip_cell.policy={bad_policy}'
    ] + SHORT, 'error', named(bad_policy))
    case('a config that does not exist', ['tools/train.py', 'configs/nope.py'],
         'error')
    case('--amp without CUDA',
         ['tools/train.py', DEMO, '--work-dir',
          osp.join(out, 'amp'), '--amp'], 'error', lambda o: 'CUDA' in o)
    case('train_dataloader.batch_size=0', [
        'tools/train.py', DEMO, '--work-dir',
        osp.join(out, 'b0'), '--cfg-options', 'train_dataloader.batch_size=0'
    ], 'error', lambda o: 'batch_size' in o)
    case('first contact: tools/train.py --help', ['tools/train.py', '--help'],
         'works', lambda o: 'pkg_resources' not in o and 'Warning' not in o)

    counts = {}
    for c in cases:
        counts[c['outcome']] = counts.get(c['outcome'], 0) + 1
    print(json.dumps(counts))
    with open(osp.join(out, 'battery.json'), 'w') as f:
        json.dump(dict(counts=counts, cases=cases), f, indent=1)
    return 1 if any(k in FAILURES for k in counts) else 0


if __name__ == '__main__':
    sys.exit(main())
