"""Hostile input and faults (issue 12): bad dataset files, damaged
checkpoints, interrupted saves and bad command lines each end in an early,
clear error naming the file or key and the fix, or in an honoured fallback."""
import copy
import os
import os.path as osp
import re
import shutil
import signal
import stat
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from fixtures import (NUM_CLASSES, ROOT, SAMPLE, SMOKE_CONFIG,
                      clear_global_instances, damage_jpeg_data, load_tool,
                      put_label_value, tiny_cfg, tiny_dataset, truncate)
from mmengine.config import Config
from mmengine.fileio import get_file_backend, put
from mmengine.logging import MMLogger
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

import das_mmseg  # noqa: F401
from das_mmseg.datasets.checks import (CheckSegLabels, DataCheckError,
                                       check_sample, mapped_label_values)
from das_mmseg.engine.checkpoint import (AtomicLocalBackend,
                                         CorruptCheckpointError,
                                         find_resumable_checkpoint,
                                         load_from_local, resolve_resume)
from das_mmseg.launch import (check_cfg_options, check_config_values,
                              check_data_roots, check_launcher_env,
                              check_work_dir)


@pytest.fixture(scope='module')
def smoke_cfg():
    return Config.fromfile(SMOKE_CONFIG)


@pytest.fixture(scope='module')
def tools():
    return dict(
        train=load_tool('tools/train.py'),
        test=load_tool('tools/test.py'),
        check=load_tool('tools/analysis_tools/check_dataset.py'))


def run_guard(img_path, ann_path, guard=None, **results):
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations
    data = dict(
        img_path=img_path,
        seg_map_path=ann_path,
        reduce_zero_label=False,
        seg_fields=[],
        **results)
    data = LoadAnnotations()(LoadImageFromFile()(data))
    return (guard or CheckSegLabels(NUM_CLASSES))(data)


# ---------------------------------------------------------------- labels


def test_label_guard_names_file_values_allowed_and_fix(tmp_path):
    (img, ann), = tiny_dataset(tmp_path, 1, 0)['train']
    seg = cv2.imread(ann, cv2.IMREAD_UNCHANGED)
    assert (seg == 255).any(), 'the sample should hold ignored pixels'
    assert run_guard(img, ann)['gt_seg_map'].shape == seg.shape  # clean

    put_label_value(ann, 200)
    with pytest.raises(DataCheckError) as error:
        run_guard(img, ann)
    message = str(error.value)
    assert ann in message
    assert re.search(r'class value\(s\) 200 \(7 pixels\)', message)
    assert '0..10 (the 11 classes) and the ignore index 255' in message
    assert 'Fix:' in message and 'check_dataset.py' in message
    # num_classes large enough: accepted
    run_guard(img, ann, CheckSegLabels(num_classes=201))


def test_label_guard_without_a_label_map_checks_only_the_image(tmp_path):
    # inference pipelines drop LoadAnnotations (as mmseg's inferencer does)
    from mmcv.transforms import LoadImageFromFile
    (img, _), = tiny_dataset(tmp_path, 1, 0)['train']
    data = LoadImageFromFile()(dict(img_path=img))
    out = CheckSegLabels(NUM_CLASSES)(dict(data))
    assert out.keys() == data.keys() and out['img'] is data['img']
    with pytest.raises(DataCheckError, match='0-sized image'):
        CheckSegLabels(NUM_CLASSES)(
            dict(data, img=np.zeros((0, 4, 3), np.uint8)))


def test_label_guard_judges_values_after_reduce_zero_label(tmp_path):
    (img, ann), = tiny_dataset(tmp_path, 1, 0)['train']
    put_label_value(ann, 12)  # class 11 after reduce_zero_label: too big
    from mmseg.datasets.transforms import LoadAnnotations
    data = LoadAnnotations()(
        dict(seg_map_path=ann, reduce_zero_label=True, seg_fields=[]))
    with pytest.raises(DataCheckError, match=r'11 \(7 pixels, file value 12'):
        CheckSegLabels(NUM_CLASSES)(data)
    # the pure function mirrors LoadAnnotations value by value
    raw = np.arange(256, dtype=np.uint8).reshape(16, 16)
    path = str(tmp_path / 'all_values.png')
    cv2.imwrite(path, raw)
    for reduce in (False, True):
        for label_map in (None, {3: 0, 0: 3, 200: 1}):
            loaded = LoadAnnotations()(dict(
                seg_map_path=path,
                reduce_zero_label=reduce,
                label_map=label_map,
                seg_fields=[]))['gt_seg_map']
            assert np.array_equal(loaded,
                                  mapped_label_values(raw, reduce, label_map))


def test_label_guard_size_and_channels(tmp_path):
    (img, ann), = tiny_dataset(tmp_path, 1, 0)['train']
    seg = cv2.imread(ann, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(ann, seg[:, :100])
    with pytest.raises(
            DataCheckError,
            match=r'size mismatch: label map '
            r'180x100 \(HxW\) but image .* is 180x240'):
        run_guard(img, ann)
    cv2.imwrite(ann, np.stack([seg] * 3, -1))  # a colour-coded label
    from mmseg.datasets.transforms import LoadAnnotations
    data = LoadAnnotations(imdecode_backend='cv2')(
        dict(seg_map_path=ann, reduce_zero_label=False, seg_fields=[]))
    with pytest.raises(DataCheckError, match='label channels'):
        CheckSegLabels(NUM_CLASSES)(data)
    with pytest.raises(ValueError, match=r'num_classes must be a positive'):
        CheckSegLabels(num_classes=0)


def test_damaged_images_stop_at_load_with_the_file_named(tmp_path):
    (img, ann), = tiny_dataset(tmp_path, 1, 0)['train']
    good = cv2.imread(img)
    # a decoder that fills in a truncated file (older OpenCV, PIL with
    # LOAD_TRUNCATED_IMAGES): the guard still sees the cut in the file
    truncate(img, 0.6)
    results = dict(
        img=good,
        img_path=img,
        ori_shape=good.shape[:2],
        seg_map_path=ann,
        gt_seg_map=cv2.imread(ann, cv2.IMREAD_UNCHANGED))
    with pytest.raises(
            DataCheckError,
            match=re.escape(img) + r': truncated: .*JPEG end marker'):
        CheckSegLabels(NUM_CLASSES)(results)
    # damaged data of full length: silent garbage, found by the opt-in check
    shutil.copy(osp.join(SAMPLE, 'img_dir', 'train', osp.basename(img)), img)
    damage_jpeg_data(img)
    assert run_guard(img, ann) is not None  # decodes without an error
    with pytest.raises(
            DataCheckError,
            match=re.escape(img) + r': corrupt: decoded with damaged data'):
        run_guard(img, ann, CheckSegLabels(NUM_CLASSES, check_files=True))


def test_check_dataset_tool_reports_each_bad_file(tmp_path, tools, capsys):
    pairs = tiny_dataset(tmp_path, 7, 2)['train']
    args = [
        SMOKE_CONFIG, '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path}'
    ]
    assert tools['check'].main(args) == 0
    assert 'train: 7 samples checked' in capsys.readouterr().out

    put_label_value(pairs[0][1], 200)
    truncate(pairs[1][0])
    damage_jpeg_data(pairs[2][0])
    open(pairs[3][0], 'wb').close()  # 0 bytes
    seg = cv2.imread(pairs[4][1], cv2.IMREAD_UNCHANGED)
    cv2.imwrite(pairs[4][1], seg[:90])
    cv2.imwrite(pairs[5][1], np.stack([seg] * 3, -1))
    truncate(pairs[6][1])
    assert tools['check'].main(args + ['--split', 'train']) == 1
    out = capsys.readouterr().out
    expected = [(pairs[0][1], r'label values: class value\(s\) 200'),
                (pairs[1][0], 'truncated'), (pairs[2][0], 'corrupt'),
                (pairs[3][0], 'empty file'), (pairs[4][1], 'size mismatch'),
                (pairs[5][1], 'label channels'), (pairs[6][1], 'truncated')]
    for path, kind in expected:
        assert re.search(re.escape(path) + ': ' + kind, out), (path, out)
    assert re.search(
        r'7 samples checked .* images/s.*: 7 problem\(s\) in 7 '
        r'file\(s\)', out)
    # the val split is clean
    assert tools['check'].main([
        SMOKE_CONFIG, '--split', 'val', '--cfg-options',
        f'val_dataloader.dataset.data_root={tmp_path}'
    ]) == 0


def test_check_sample_reports_wide_label_values(tmp_path):
    (img, ann), = tiny_dataset(tmp_path, 1, 0)['train']
    seg = cv2.imread(ann, cv2.IMREAD_UNCHANGED).astype(np.uint16)
    seg[0, 0] = 256 + 3  # wraps to class 3 in mmseg's uint8 cast
    cv2.imwrite(ann, seg)
    problems = check_sample(dict(img_path=img, seg_map_path=ann), NUM_CLASSES)
    assert [p.kind for p in problems] == ['label values']
    assert 'file value(s) [259] do not fit in uint8' in problems[0].detail


# ------------------------------------------------------------ data folders


def test_empty_data_folder_is_named_before_training(tmp_path, tools):
    tiny_dataset(tmp_path, 2, 2)
    shutil.rmtree(tmp_path / 'img_dir' / 'train')
    os.makedirs(tmp_path / 'img_dir' / 'train')
    open(tmp_path / 'img_dir' / 'train' / '.gitkeep', 'w').close()
    cfg = tiny_cfg(tmp_path, tmp_path / 'wd')
    with pytest.raises(
            FileNotFoundError,
            match=re.escape(str(tmp_path / 'img_dir' / 'train')) +
            r'" \(train_dataloader.dataset.data_prefix.img_path of '
            r'CamVidDataset\) exists but holds no files'):
        check_data_roots(cfg)
    # files, but not of the suffix the dataset lists
    shutil.copy(
        osp.join(SAMPLE, 'ann_dir', 'train',
                 os.listdir(osp.join(SAMPLE, 'ann_dir', 'train'))[0]),
        tmp_path / 'img_dir' / 'train' / 'a.png')
    with pytest.raises(
            FileNotFoundError,
            match=r'holds no "\*.jpg" files, which CamVidDataset lists \(it '
            r'holds 1 .png\)\. Set train_dataloader.dataset.img_suffix'):
        check_data_roots(cfg)
    # the tool stops before a Runner creates the work folder
    with pytest.raises(FileNotFoundError, match='holds no'):
        tools['train'].main([
            SMOKE_CONFIG, '--work-dir',
            str(tmp_path / 'wd'), '--cfg-options',
            f'train_dataloader.dataset.data_root={tmp_path}'
        ])
    assert not osp.exists(tmp_path / 'wd')


# ------------------------------------------------------------- checkpoints


def small_checkpoint(path, value=1.0):
    torch.save(
        {
            'meta': {
                'iter': 1
            },
            'state_dict': {
                'w': torch.full((5000, ), value)
            }
        }, path)
    return str(path)


def test_damaged_checkpoints_are_named_with_the_fix(tmp_path):
    truncated = small_checkpoint(tmp_path / 'iter_20.pth')
    truncate(truncated)
    for load in (load_from_local, _load_checkpoint,
                 lambda p: load_checkpoint(torch.nn.Linear(1, 1), p)):
        with pytest.raises(
                CorruptCheckpointError,
                match=re.escape(truncated) + r'.*cut short .*--resume'):
            load(truncated)

    flipped = small_checkpoint(tmp_path / 'flipped.pth')
    data = bytearray(open(flipped, 'rb').read())
    data[len(data) // 2] ^= 0xFF  # inside the tensor data
    open(flipped, 'wb').write(bytes(data))
    # torch.load alone would return the wrong weights without a word
    assert not torch.equal(
        torch.load(flipped, weights_only=True)['state_dict']['w'],
        torch.ones(5000))
    with pytest.raises(CorruptCheckpointError, match=r'CRC32'):
        load_from_local(flipped)

    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CorruptCheckpointError, match=r'empty \(0 bytes\)'):
        load_from_local(str(empty))
    policy = tmp_path / 'das_policy.json'
    policy.write_text('{"version": 2}')
    with pytest.raises(CorruptCheckpointError, match='not a PyTorch'):
        load_from_local(str(policy))
    intact = small_checkpoint(tmp_path / 'intact.pth')
    assert torch.equal(
        load_from_local(intact)['state_dict']['w'], torch.ones(5000))


def test_tools_test_refuses_a_truncated_checkpoint_early(tmp_path, tools):
    ckpt = small_checkpoint(tmp_path / 'iter_40.pth')
    truncate(ckpt)
    work_dir = tmp_path / 'wd'
    with pytest.raises(
            CorruptCheckpointError,
            match=re.escape(ckpt) + r'" \(from the CHECKPOINT argument\) '
            r'cannot be loaded: it is cut short'):
        tools['test'].main([SMOKE_CONFIG, ckpt, '--work-dir', str(work_dir)])
    assert not osp.exists(work_dir)  # before the Runner
    with pytest.raises(IsADirectoryError, match='is a folder'):
        tools['test'].main([SMOKE_CONFIG, str(tmp_path)])


def warnings_of(capsys):
    """What print_log wrote (mmengine's logger prints to stdout)."""
    return capsys.readouterr().out


def test_resume_falls_back_to_newest_intact_checkpoint(tmp_path, capsys):
    MMLogger.get_instance('faults_resume')  # print_log's current logger
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    assert find_resumable_checkpoint(str(work_dir)) is None  # fresh run
    cfg = Config(dict(work_dir=str(work_dir), resume=True))
    resolve_resume(cfg)  # a --work-dir typo would restart silently
    assert cfg.get('load_from') is None
    assert 'holds no checkpoint yet; training starts from scratch' in (
        warnings_of(capsys))
    first = small_checkpoint(work_dir / 'iter_10.pth')
    second = small_checkpoint(work_dir / 'iter_20.pth')
    best = small_checkpoint(work_dir / 'best_mIoU_iter_20.pth')
    (work_dir / 'last_checkpoint').write_text(second)
    assert find_resumable_checkpoint(str(work_dir)) == second

    truncate(second)
    assert find_resumable_checkpoint(str(work_dir)) == best
    out = warnings_of(capsys)
    assert re.search(
        re.escape(second) + r'": it is cut short.*Resuming from "' +
        re.escape(best) + '", the newest intact checkpoint', out)
    os.remove(best)
    assert find_resumable_checkpoint(str(work_dir)) == first

    # last_checkpoint missing or empty: the newest intact one, with a warning
    (work_dir / 'last_checkpoint').write_text('')
    assert find_resumable_checkpoint(str(work_dir)) == first
    assert 'last_checkpoint" is empty' in warnings_of(capsys)
    os.remove(work_dir / 'last_checkpoint')
    assert find_resumable_checkpoint(str(work_dir)) == first

    # a work folder moved elsewhere: the same file name in the new place
    moved = tmp_path / 'moved'
    shutil.copytree(work_dir, moved)
    (moved / 'last_checkpoint').write_text(first)
    os.remove(first)
    assert find_resumable_checkpoint(str(moved)) == str(moved / 'iter_10.pth')

    # nothing intact: an error, and nothing is deleted; a search's initial
    # state is no checkpoint to resume from
    truncate(str(moved / 'iter_10.pth'))
    small_checkpoint(moved / 'das_initial_state.pth')
    with pytest.raises(
            CorruptCheckpointError,
            match=r'no intact checkpoint in .*moved.*Nothing was changed'):
        find_resumable_checkpoint(str(moved))
    assert sorted(os.listdir(moved)) == [
        'das_initial_state.pth', 'iter_10.pth', 'iter_20.pth',
        'last_checkpoint'
    ]

    # resolve_resume: into load_from; an explicit load_from must be intact
    cfg = Config(dict(work_dir=str(work_dir), resume=True))
    with pytest.raises(CorruptCheckpointError):
        resolve_resume(cfg)  # iter_20 truncated, iter_10 removed above
    small_checkpoint(work_dir / 'iter_10.pth')
    resolve_resume(cfg)
    assert cfg.load_from == first
    cfg = Config(dict(work_dir=str(work_dir), load_from=second))
    with pytest.raises(CorruptCheckpointError, match=r'from load_from'):
        resolve_resume(cfg)


def test_local_writes_are_atomic(tmp_path):
    backend = get_file_backend(str(tmp_path / 'x'))
    assert isinstance(backend, AtomicLocalBackend)
    target = tmp_path / 'real.json'
    target.write_text('old')
    os.chmod(target, 0o640)
    link = tmp_path / 'link.json'
    os.symlink(target, link)
    put(b'new', str(link))  # mmengine.fileio's functions use it too
    assert target.read_text() == 'new' and osp.islink(link)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ['link.json', 'real.json']

    # a failing write leaves the old file whole and no temporary file
    class Unwritable:

        def __len__(self):
            return 1

    with pytest.raises(TypeError):
        backend.put(Unwritable(), str(target))
    assert target.read_text() == 'new'
    assert sorted(os.listdir(tmp_path)) == ['link.json', 'real.json']


LIMIT_DRIVER = '''
import os.path as osp, resource, runpy, signal, sys
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class LimitFileSizeAfterFirstCheckpoint(Hook):
    """Once iter_5.pth is saved, cap this process's file size at half a
    checkpoint and let the kernel kill it (SIGXFSZ, default action) when a
    write goes past the cap: the next checkpoint save dies mid-write."""
    priority = 'LOWEST'  # after the checkpoint hook of the same iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        first = osp.join(runner.work_dir, 'iter_5.pth')
        if osp.isfile(first) and not getattr(self, 'armed', False):
            self.armed = True
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (osp.getsize(first) // 2, -1))


sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def train_args(data_root, work_dir, *options):
    return [
        '--work-dir',
        str(work_dir), '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', *options
    ]


def log_text(work_dir):
    text = ''
    for folder, _, files in os.walk(work_dir):
        text += ''.join(
            open(osp.join(folder, f)).read() for f in files
            if f.endswith('.log'))
    return text


@pytest.mark.slow
def test_interrupted_save_leaves_a_resumable_run(tmp_path, tools):
    """A training process killed by the kernel in the middle of writing a
    checkpoint (max_keep_ckpts=1: mmengine alone would already have deleted
    the previous one) keeps the previous checkpoint and last_checkpoint, and
    --resume continues from there."""
    tiny_dataset(tmp_path / 'data', 4, 2)
    work_dir = tmp_path / 'run'
    driver = tmp_path / 'driver.py'
    driver.write_text(LIMIT_DRIVER)
    config = tmp_path / 'limited.py'
    config.write_text(
        f'_base_ = [{SMOKE_CONFIG!r}]\n'
        "custom_hooks = [dict(type='LimitFileSizeAfterFirstCheckpoint')]\n")
    options = ('train_cfg.max_iters=10', 'train_cfg.val_interval=10',
               'default_hooks.checkpoint.interval=5',
               'default_hooks.checkpoint.max_keep_ckpts=1',
               'train_dataloader.batch_size=2')
    proc = subprocess.run(
        [
            sys.executable,
            str(driver),
            osp.join(ROOT, 'tools', 'train.py'),
            str(config)
        ] + train_args(tmp_path / 'data', work_dir, *options),
        cwd=ROOT,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == -signal.SIGXFSZ, proc.stderr[-3000:]
    files = os.listdir(work_dir)
    partial = [f for f in files if f.startswith('.iter_10.pth')]
    assert partial and 'iter_10.pth' not in files  # killed while writing it
    first = str(work_dir / 'iter_5.pth')
    assert (work_dir / 'last_checkpoint').read_text() == first
    assert _load_checkpoint(first)['meta']['iter'] == 5  # the safe loader

    clear_global_instances()
    tools['train'].main([SMOKE_CONFIG, '--resume'] +
                        train_args(tmp_path / 'data', work_dir, *options[:-1]))
    assert 'resumed epoch: 0, iter: 5' in log_text(work_dir)
    final = str(work_dir / 'iter_10.pth')
    assert (work_dir / 'last_checkpoint').read_text() == final
    assert load_from_local(final)['meta']['iter'] == 10
    assert not osp.exists(first)  # retired after the new one was saved


@pytest.mark.slow
def test_resume_skips_a_truncated_last_checkpoint(tmp_path, tools, capsys):
    tiny_dataset(tmp_path / 'data', 4, 2)
    work_dir = tmp_path / 'run'
    options = ('train_cfg.val_interval=100',
               'default_hooks.checkpoint.interval=3',
               'train_dataloader.batch_size=2')
    tools['train'].main([SMOKE_CONFIG] + train_args(
        tmp_path / 'data', work_dir, 'train_cfg.max_iters=6', *options))
    truncate(str(work_dir / 'iter_6.pth'))
    clear_global_instances()
    tools['train'].main([SMOKE_CONFIG, '--resume'] + train_args(
        tmp_path / 'data', work_dir, 'train_cfg.max_iters=8', *options))
    out = capsys.readouterr().out
    assert re.search(
        r'iter_6\.pth": it is cut short .*Resuming from ".*'
        r'iter_3\.pth", the newest intact', out)
    assert 'resumed epoch: 0, iter: 3' in log_text(work_dir)
    assert load_from_local(str(work_dir / 'iter_6.pth'))['meta']['iter'] == 6


@pytest.mark.slow
def test_bad_label_stops_training_and_evaluation(tmp_path):
    pairs = tiny_dataset(tmp_path / 'data', 4, 2)
    put_label_value(pairs['train'][2][1], 200)
    runner = Runner.from_cfg(
        tiny_cfg(
            tmp_path / 'data',
            tmp_path / 'wd',
            train_dataloader=dict(batch_size=4)))
    with pytest.raises(DataCheckError) as error:
        runner.train()
    assert pairs['train'][2][1] in str(error.value)
    assert 'class value(s) 200' in str(error.value)

    # evaluation: IoUMetric would drop the pixels and report a number
    put_label_value(pairs['val'][1][1], 200)
    clear_global_instances()
    runner = Runner.from_cfg(tiny_cfg(tmp_path / 'data', tmp_path / 'wd2'))
    with pytest.raises(DataCheckError, match=re.escape(pairs['val'][1][1])):
        runner.val()
    clear_global_instances()
    runner = Runner.from_cfg(
        tiny_cfg(tmp_path / 'data', tmp_path / 'wd3', guard=False))
    metrics = runner.val()  # without the guard: a score, no word
    assert 0 <= metrics['mIoU'] <= 100


# --------------------------------------------------------- command lines


def test_cfg_options_typos_are_named(smoke_cfg, tools, capsys):
    MMLogger.get_instance('faults_cli')
    check_cfg_options(
        smoke_cfg, {
            'train_cfg.max_iter': 5,
            'train_cfg.max_iters': 5,
            'trian_cfg.max_iters': 5,
            'train_dataloader.dataset.pipeline.1.type': 'LoadAnnotations'
        })
    out = capsys.readouterr().out
    assert re.search(
        r'--cfg-options train_cfg.max_iter: the config has no key '
        r'"max_iter" at "train_cfg".*Did you mean train_cfg.max_iters\?', out)
    assert 'Did you mean train_cfg?' in out
    assert 'options train_cfg.max_iters:' not in out
    assert 'pipeline.1' not in out
    with pytest.raises(SystemExit):
        tools['train'].parse_args([SMOKE_CONFIG, '--cfg-options', 'max_iters'])
    assert ('--cfg-options takes key=value items, e.g. '
            'train_cfg.max_iters=1000; got "max_iters"'
            in capsys.readouterr().err)


def test_work_dir_and_launcher_checked_early(tmp_path, tools, monkeypatch):
    a_file = tmp_path / 'notes.txt'
    a_file.write_text('')
    with pytest.raises(NotADirectoryError, match=r'notes.txt" \(--work-dir'):
        tools['train'].main([SMOKE_CONFIG, '--work-dir', str(a_file)])
    monkeypatch.setattr(os, 'access', lambda path, mode: False)
    wanted = tmp_path / 'runs' / 'x'
    with pytest.raises(
            PermissionError,
            match=re.escape(f'"{wanted}" (here) cannot be written: '
                            f'"{tmp_path}" is not writable')):
        check_work_dir(str(wanted), 'here')
    monkeypatch.undo()
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(
            RuntimeError,
            match=r'--launcher pytorch: .*RANK, WORLD_SIZE, MASTER_ADDR, '
            r'MASTER_PORT .*torchrun'):
        check_launcher_env('pytorch')
    with pytest.raises(RuntimeError, match='--launcher pytorch'):
        tools['train'].main([
            SMOKE_CONFIG, '--launcher', 'pytorch', '--work-dir',
            str(tmp_path / 'wd')
        ])
    check_launcher_env('none')


def test_the_batch_check_counts_every_frame_of_a_clip():
    from das_mmseg.launch import load_config
    cfg = load_config(
        DEMO, {'model.data_preprocessor.size': (100000, 100000)},
        check_writable=False)
    with pytest.raises(ValueError, match=r'batch_size 4 x 4 frame\(s\) x 3'):
        check_config_values(cfg)


@pytest.mark.parametrize('key, value, message', [
    ('train_dataloader.batch_size', 0,
     r'train_dataloader.batch_size = 0: expected an integer >= 1'),
    ('val_dataloader.num_workers', -1,
     r'val_dataloader.num_workers = -1: expected an integer >= 0'),
    ('train_cfg.max_iters', 0, r'train_cfg.max_iters = 0'),
    ('optim_wrapper.optimizer.lr', float('nan'),
     r'optim_wrapper.optimizer.lr = nan: expected a finite number'),
    ('model.data_preprocessor.size', (100000, 100000),
     r'a training batch cannot fit: train_dataloader.batch_size 4 x 1 '
     r'frame\(s\) x 3 x 100000 x 100000 \(model.data_preprocessor.size\) '
     r'.*more than this machine\'s'),
])
def test_absurd_config_values_are_refused(smoke_cfg, key, value, message):
    cfg = copy.deepcopy(smoke_cfg)
    check_config_values(cfg)  # the shipped values pass
    cfg.merge_from_dict({key: value})
    with pytest.raises(ValueError, match=message):
        check_config_values(cfg)


def test_a_fresh_run_refuses_a_used_work_dir(tmp_path, tools):
    """A fresh run into a folder holding an earlier run's checkpoints or
    policy is refused before anything is built, naming what it holds and
    the ways on; nothing in the folder changes."""
    tiny_dataset(tmp_path / 'data', 4, 2)
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    (work_dir / 'iter_4.pth').write_bytes(b'an earlier run')
    (work_dir / 'das_policy.json').write_text('{}')
    before = {p.name: p.read_bytes() for p in work_dir.iterdir()}
    with pytest.raises(FileExistsError) as error:
        tools['train'].main([SMOKE_CONFIG] +
                            train_args(tmp_path / 'data', work_dir))
    message = str(error.value)
    assert f'"{work_dir}" holds an earlier run (das_policy.json, iter_4.pth)'\
        in message
    for way in ('--resume', '--work-dir', '--overwrite'):
        assert way in message
    assert {p.name: p.read_bytes() for p in work_dir.iterdir()} == before
    # a folder with only logs (a run stopped before its first checkpoint)
    # is not refused
    (work_dir / 'iter_4.pth').unlink()
    (work_dir / 'das_policy.json').unlink()
    (work_dir / '20261206_000000').mkdir()
    from das_mmseg.launch import check_fresh_work_dir
    check_fresh_work_dir(dict(work_dir=str(work_dir), resume=False))


@pytest.mark.slow
def test_overwrite_trains_anew_into_a_used_work_dir(tmp_path, tools):
    tiny_dataset(tmp_path / 'data', 4, 2)
    work_dir = tmp_path / 'run'
    options = ('train_cfg.max_iters=2', 'train_cfg.val_interval=100',
               'default_hooks.checkpoint.interval=2',
               'train_dataloader.batch_size=2')
    args = [SMOKE_CONFIG] + train_args(tmp_path / 'data', work_dir, *options)
    tools['train'].main(args)
    first = (work_dir / 'iter_2.pth').read_bytes()
    clear_global_instances()
    with pytest.raises(FileExistsError, match='holds an earlier run'):
        tools['train'].main(args)
    clear_global_instances()
    tools['train'].main(args[:1] + ['--overwrite'] + args[1:])
    assert (work_dir / 'iter_2.pth').read_bytes() != first  # a new run


DEMO = osp.join(
    ROOT, 'configs', 'das',
    'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py')


@pytest.mark.parametrize(
    'option, uses',
    [('num_frames=8', 'model.num_frames=8'),
     ('max_iters=10', 'train_cfg.max_iters=10'),
     ('crop_size=(64,64)', 'data_preprocessor.size=(64, 64), '
      'model.data_preprocessor.size=(64, 64), '
      'train_dataloader.dataset.pipeline.4.crop_size=(64, 64)')])
def test_overriding_a_config_variable_is_refused(tools, option, uses):
    """``--cfg-options num_frames=8`` (the shipped configs' variable) would
    leave T = 4 while the dumped config said 8: refused before anything is
    built, naming the keys to set."""
    key = option.split('=')[0]
    with pytest.raises(ValueError) as error:
        tools['train'].main([DEMO, '--cfg-options', option])
    message = str(error.value)
    assert message.startswith(f'--cfg-options {key}: "{key}" is a variable '
                              'of the config file')
    assert message.endswith(f': {uses}.')
    # the keys it names take effect
    from das_mmseg.launch import load_config
    cfg = load_config(DEMO, {'model.num_frames': 8}, check_writable=False)
    assert cfg.model.num_frames == 8


@pytest.mark.slow
def test_resume_refuses_a_changed_learning_rate(tmp_path, tools):
    """mmengine restores the checkpoint's optimizer and schedules on resume:
    a learning rate changed in the config would be dropped silently."""
    tiny_dataset(tmp_path / 'data', 4, 2)
    work_dir = tmp_path / 'run'
    options = ('train_cfg.val_interval=100',
               'default_hooks.checkpoint.interval=2',
               'train_dataloader.batch_size=2')
    tools['train'].main([SMOKE_CONFIG] + train_args(
        tmp_path / 'data', work_dir, 'train_cfg.max_iters=2', *options))
    clear_global_instances()
    dump = work_dir / osp.basename(SMOKE_CONFIG)
    earlier = dump.read_bytes()
    with pytest.raises(
            ValueError,
            match=r'the learning rate of optim_wrapper \(parameter group 0\) '
            r'was 0.01 when the checkpoint was written and is 0.5 now'):
        tools['train'].main(
            [SMOKE_CONFIG, '--resume'] +
            train_args(tmp_path / 'data', work_dir, 'train_cfg.max_iters=4',
                       'optim_wrapper.optimizer.lr=0.5', *options))
    # the refused run's settings are not left in the run's config dump
    assert dump.read_bytes() == earlier
    clear_global_instances()
    tools['train'].main([SMOKE_CONFIG, '--resume'] + train_args(
        tmp_path / 'data', work_dir, 'train_cfg.max_iters=4', *options))
    assert (work_dir / 'iter_4.pth').exists()


def test_a_searchable_cell_without_a_search_is_refused(tmp_path):
    """A DAS model on a schedule alone (a config that forgot the search
    base) would train a uniform mixture of every op and never derive a
    policy: refused before anything is built, naming the base to list; with
    the search base, a DAS loop or a policy it passes."""
    from das_mmseg.launch import load_config
    config = tmp_path / 'no_search.py'
    config.write_text(f'''
_base_ = [
    {osp.join(ROOT, 'configs/_base_/models/das_pspnet_gsf_r18_tiny.py')!r},
    {osp.join(ROOT, 'configs/_base_/datasets/camvid_sample_96x96.py')!r},
    {osp.join(ROOT, 'configs/_base_/default_runtime.py')!r},
    {osp.join(ROOT, 'configs/_base_/schedules/das_schedule_20k.py')!r}]
''')
    cfg = load_config(str(config), check_writable=False)
    with pytest.raises(
            ValueError,
            match=(r'model.clip_cell has no policy .* train_cfg.type='
                   r"'IterBasedTrainLoop' never searches it .*"
                   r'_base_/search/das_first_order.py')):
        check_config_values(cfg)
    cfg.model.clip_cell.policy = 'das_policy.json'
    check_config_values(cfg)
    check_config_values(load_config(DEMO, check_writable=False))
