"""Inputs guarded before any transform (issue 19, items 4 and 5): image
arrays and files at the API, the inferencer, the demo and the training
pipeline; a file's declared size held to a limit before decoding; data
defects of every split found before the first iteration."""
import os
import os.path as osp
import re
import shutil
import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest
from fixtures import (ROOT, SAMPLE, SMOKE_CONFIG, clear_global_instances,
                      damage_jpeg_data, load_tool, put_label_value, run_tool,
                      tiny_cfg, tiny_dataset, truncate)
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config
from mmengine.dataset import Compose

import das_mmseg  # noqa: F401
from das_mmseg import apis
from das_mmseg.apis import DASInferencer
from das_mmseg.datasets.checks import DataCheckError, check_dataset
from das_mmseg.datasets.loading import (DEFAULT_MAX_IMAGE_PIXELS,
                                        ImageInputError, LoadCheckedImage,
                                        check_image_array, declared_image_size)
from das_mmseg.datasets.preflight import preflight_split

DEMO = osp.join(
    ROOT, 'configs', 'das',
    'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py')


def huge_png(path, height=20000, width=20000):
    """A 100-byte PNG whose header declares ``height x width`` pixels (the
    IHDR of a small PNG rewritten, its CRC fixed)."""
    ok, buf = cv2.imencode('.png', np.zeros((8, 8, 3), np.uint8))
    data = bytearray(buf.tobytes())
    data[16:24] = struct.pack('>II', width, height)
    data[29:33] = struct.pack('>I', zlib.crc32(bytes(data[12:29])))
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)


# ---------------------------------------------------------------- arrays

BAD_ARRAYS = [
    (np.zeros((0, 0, 3), np.uint8), r'\(0, 0, 3\) holds no pixels'),
    (np.zeros((1, 8, 8, 3), np.uint8), r'\(1, 8, 8, 3\) is not an image'),
    (np.zeros((8, 8), np.uint8), 'grayscale image.*COLOR_GRAY2BGR'),
    (np.zeros((8, 8, 4), np.uint8), r'4 channels.*img\[\.\.\., :3\]'),
    (np.zeros((8, 8, 5), np.uint8), '5 channels'),
    (np.zeros((8, 8, 3), bool), 'dtype bool is not an image dtype'),
    (np.zeros((8, 8, 3), np.uint16), 'dtype uint16.*// 257'),
    (np.zeros((8, 8, 3), np.int64), 'dtype int64'),
    (np.full((8, 8, 3), np.nan, np.float32), '192 of 192 values are NaN'),
    (np.full((2, 2, 3), np.inf), '12 of 12 values are NaN or infinite'),
    (12.5, 'expected an image file path or a numpy array'),
]


@pytest.mark.parametrize('img,message', BAD_ARRAYS[:-1])
def test_image_array_checks_name_the_problem_and_fix(img, message):
    with pytest.raises(
            ImageInputError, match='image 3 of the batch: .*' + message):
        check_image_array(img, 'image 3 of the batch')


def test_image_array_limits_and_accepted_kinds():
    check_image_array(np.zeros((1, 1, 3), np.uint8))
    check_image_array(np.full((4, 4, 3), 200.0, np.float32))
    with pytest.warns(UserWarning, match=r'all values in \[0, 1\]'):
        check_image_array(np.full((4, 4, 3), 0.5, np.float32))
    with pytest.raises(
            ImageInputError,
            match='100 pixels, more than the '
            'limit of 99.*DAS_MMSEG_MAX_IMAGE_PIXELS'):
        check_image_array(np.zeros((10, 10, 3), np.uint8), max_pixels=99)
    check_image_array(np.zeros((10, 10, 3), np.uint8), max_pixels=0)


@pytest.fixture(scope='module')
def model():
    """The demo's DAS model, untrained (the checks come before it)."""
    return apis.init_model(DEMO, device='cpu')


@pytest.mark.parametrize('img,message', BAD_ARRAYS)
def test_inference_model_refuses_bad_arrays_before_any_transform(
        model, img, message):
    with pytest.raises(ImageInputError, match=message):
        apis.inference_model(model, img)
    # in a batch, the bad one is named by its place
    with pytest.raises(ImageInputError, match='image 1 of the batch'):
        apis.inference_model(model, [np.zeros((9, 9, 3), np.uint8), img])


@pytest.mark.parametrize('shape', [(1, 1), (1, 7), (5, 2), (3, 3)])
def test_tiny_images_are_segmented_at_their_size(model, shape, tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    file = str(tmp_path / 'tiny.png')
    cv2.imwrite(file, img)
    for one in (img, file):
        result = apis.inference_model(model, one)
        assert result.pred_sem_seg.shape == shape
        assert result.seg_logits.data.shape == (11, *shape)
    assert apis.inference_clip(model, img).shape[0] == 4


# ----------------------------------------------------------------- files


def test_loaded_pixels_equal_mmcvs_loader(tmp_path):
    sample = osp.join(SAMPLE, 'img_dir', 'train')
    jpg = osp.join(sample, sorted(os.listdir(sample))[0])
    png = str(tmp_path / 'a.png')
    cv2.imwrite(png, cv2.imread(jpg))
    for path in (jpg, png):
        ours = LoadCheckedImage()(dict(img_path=path))
        theirs = LoadImageFromFile()(dict(img_path=path))
        assert np.array_equal(ours['img'], theirs['img'])
        assert ours['ori_shape'] == theirs['ori_shape']
    assert declared_image_size(open(jpg, 'rb').read()) == (180, 240)


def test_unreadable_files_are_named(tmp_path, model):
    sample = osp.join(SAMPLE, 'img_dir', 'train')
    source = osp.join(sample, sorted(os.listdir(sample))[0])
    empty, garbage = tmp_path / 'empty.png', tmp_path / 'garbage.jpg'
    cut, damaged = tmp_path / 'cut.jpg', tmp_path / 'damaged.jpg'
    empty.write_bytes(b'')
    garbage.write_bytes(b'this is not an image')
    for path in (cut, damaged):
        shutil.copy(source, path)
    truncate(cut)
    damage_jpeg_data(damaged)
    cases = [(empty, r'the image file is empty \(0 bytes\)'),
             (garbage, 'not an image this loader can decode'),
             (cut, 'the file lacks the JPEG end marker'),
             (damaged, 'the decoder reports damaged data'),
             (tmp_path / 'missing.png', 'no such image file')]
    for path, message in cases:
        for load in (lambda p: LoadCheckedImage()(dict(img_path=p)),
                     lambda p: apis.inference_model(model, p)):
            with pytest.raises(
                    ImageInputError,
                    match=re.escape(str(path)) + ': ' + message):
                load(str(path))


def test_declared_size_is_refused_before_decoding(tmp_path, monkeypatch):
    path = huge_png(tmp_path / 'huge.png')
    assert os.path.getsize(path) < 200
    assert declared_image_size(open(path, 'rb').read()) == (20000, 20000)
    decoded = []
    monkeypatch.setattr('mmcv.imfrombytes', lambda *a, **k: decoded.append(1))
    with pytest.raises(
            ImageInputError,
            match=f'20000x20000 \\(HxW\\) is 400000000 pixels, more than '
            f'the limit of {DEFAULT_MAX_IMAGE_PIXELS}'):
        LoadCheckedImage()(dict(img_path=path))
    assert not decoded  # refused from the header
    # the limit is configurable: the argument, then the environment
    with pytest.raises(ImageInputError, match='limit of 1000'):
        LoadCheckedImage(max_pixels=1000)(dict(img_path=path))
    monkeypatch.setenv('DAS_MMSEG_MAX_IMAGE_PIXELS', '5')
    with pytest.raises(ImageInputError, match='limit of 5'):
        LoadCheckedImage()(dict(img=np.zeros((3, 3, 3), np.uint8)))
    monkeypatch.setenv('DAS_MMSEG_MAX_IMAGE_PIXELS', 'many')
    with pytest.raises(ImageInputError, match="'many' is not a pixel count"):
        LoadCheckedImage()(dict(img=np.zeros((3, 3, 3), np.uint8)))


def test_inferencer_guards_files_and_arrays(tmp_path):
    inferencer = DASInferencer(DEMO, device='cpu')
    with pytest.raises(ImageInputError, match='holds no pixels'):
        inferencer(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ImageInputError, match='NaN'):
        inferencer(np.full((4, 4, 3), np.nan, np.float32))
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(ImageInputError, match=r'empty.png: .*0 bytes'):
        inferencer(str(tmp_path / 'empty.png'))
    result = inferencer(np.zeros((1, 1, 3), np.uint8), return_clip=True)
    assert result['predictions'].shape == (1, 1)


@pytest.mark.slow
def test_demo_draws_a_1x1_image_and_refuses_a_huge_one(tmp_path):
    checkpoint = str(tmp_path / 'weights.pth')
    import torch
    torch.save(
        dict(
            meta=dict(),
            state_dict=apis.init_model(DEMO, device='cpu').state_dict()),
        checkpoint)
    one = str(tmp_path / 'one.png')
    cv2.imwrite(one, np.full((1, 1, 3), 90, np.uint8))
    out = str(tmp_path / 'out.png')
    run_tool([
        'demo/image_demo.py', one, DEMO, checkpoint, '--out-file', out,
        '--show-clip', '--out-pred',
        str(tmp_path / 'pred.png')
    ],
             env=dict(OMP_NUM_THREADS='1'))
    # drawn enlarged; the prediction keeps the image's size
    assert cv2.imread(out).shape == (64, 64, 3)
    assert cv2.imread(str(tmp_path / 'pred.png'),
                      cv2.IMREAD_UNCHANGED).shape == (1, 1)
    assert osp.isfile(str(tmp_path / 'out_clip.png'))
    huge = huge_png(tmp_path / 'huge.png')
    done = subprocess.run([
        sys.executable, 'demo/image_demo.py', huge, DEMO, checkpoint,
        '--out-file', out
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert done.returncode == 1
    assert re.search(
        r'error: .*huge.png: 20000x20000 \(HxW\) is 400000000 '
        r'pixels, more than the limit', done.stderr)
    assert 'Traceback' not in done.stderr


# ------------------------------------------------- data before the start


def every_defect(pairs):
    """Each defect ``check_dataset.py`` reports, in its own training sample;
    returns [(file, kind)]."""
    put_label_value(pairs[0][1], 200)
    truncate(pairs[1][0])
    damage_jpeg_data(pairs[2][0])
    open(pairs[3][0], 'wb').close()
    seg = cv2.imread(pairs[4][1], cv2.IMREAD_UNCHANGED)
    cv2.imwrite(pairs[4][1], seg[:90])
    cv2.imwrite(pairs[5][1], np.stack([seg] * 3, -1))
    truncate(pairs[6][1])
    wide = seg.astype(np.uint16)
    wide[0, 0] = 256 + 3  # mmseg's uint8 cast would make it class 3
    cv2.imwrite(pairs[7][1], wide)
    open(pairs[8][1], 'wb').close()
    return [(pairs[0][1], 'label values'), (pairs[1][0], 'truncated'),
            (pairs[2][0], 'corrupt'), (pairs[3][0], 'empty file'),
            (pairs[4][1], 'size mismatch'), (pairs[5][1], 'label channels'),
            (pairs[6][1], 'truncated'), (pairs[7][1], 'label values'),
            (pairs[8][1], 'empty file')]


def test_the_training_guard_catches_everything_check_dataset_reports(tmp_path):
    pairs = tiny_dataset(tmp_path, 10, 0)['train']
    defects = every_defect(pairs)
    cfg = Config.fromfile(SMOKE_CONFIG)
    cfg.train_dataloader.dataset.data_root = str(tmp_path)
    samples = [
        dict(img_path=img, seg_map_path=ann, reduce_zero_label=False)
        for img, ann in pairs
    ]
    reported = {(p.path, p.kind) for p in check_dataset(samples, 11)}
    assert reported == set(defects)
    # before the first iteration: what the files' headers show
    found, checked = preflight_split(cfg, 'train', full=False)
    assert checked == 10
    at_start = {(p.path, p.kind) for p in found}
    # per sample in the training pipeline: the rest
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    for (img, ann), (path, kind) in zip(pairs, defects):
        if (path, kind) in at_start:
            continue
        with pytest.raises(DataCheckError, match=re.escape(path)):
            pipeline(
                dict(
                    img_path=img,
                    seg_map_path=ann,
                    reduce_zero_label=False,
                    seg_fields=[]))
    assert at_start >= {d
                        for d in defects
                        if d[1] != 'corrupt'} - {(pairs[0][1], 'label values')}
    # the clean sample passes both
    assert pipeline(
        dict(
            img_path=pairs[9][0],
            seg_map_path=pairs[9][1],
            reduce_zero_label=False,
            seg_fields=[])) is not None


def test_val_and_test_defects_stop_a_run_before_training(tmp_path):
    train = load_tool('tools/train.py')
    test = load_tool('tools/test.py')
    pairs = tiny_dataset(tmp_path / 'data', 4, 2)
    put_label_value(pairs['val'][1][1], 200)
    work = tmp_path / 'wd'
    args = [
        SMOKE_CONFIG, '--work-dir',
        str(work), '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path / "data"}',
        f'val_dataloader.dataset.data_root={tmp_path / "data"}',
        f'test_dataloader.dataset.data_root={tmp_path / "data"}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]
    with pytest.raises(DataCheckError) as error:
        train.main(args)
    message = str(error.value)
    assert re.search(
        r'the val split has 1 unusable file\(s\); found before the run '
        r'started, nothing was trained:\n  ' + re.escape(pairs['val'][1][1]) +
        r': label values: class value\(s\) 200', message)
    assert 'check_dataset.py' in message and '--split val' in message
    assert not [f for f in os.listdir(work) if f.endswith('.pth')]
    # tools/test.py checks the test split before testing
    weights = tmp_path / 'w.pth'
    cfg = tiny_cfg(tmp_path / 'data', tmp_path / 'x')
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.save_checkpoint(
        str(tmp_path),
        'w.pth',
        save_optimizer=False,
        save_param_scheduler=False)
    clear_global_instances()
    with pytest.raises(DataCheckError, match='the test split has 1'):
        test.main([
            SMOKE_CONFIG,
            str(weights), '--work-dir',
            str(tmp_path / 'test'), '--cfg-options',
            f'test_dataloader.dataset.data_root={tmp_path / "data"}'
        ])
    # switched off, the run starts (and the guard stops it at evaluation)
    clear_global_instances()
    with pytest.raises(DataCheckError, match='CheckSegLabels'):
        train.main(args[:2] + [str(tmp_path / 'wd2')] + args[3:] + [
            'default_hooks.data_preflight=None', 'train_cfg.max_iters=2',
            'train_cfg.val_interval=2'
        ])
