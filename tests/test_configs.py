"""Every config in configs/ loads without network access, builds its model and
runs one real training iteration on a tiny stand-in of its dataset's format
made from the real images of data/camvid_sample (VOC + SBD, Cityscapes, CamVid,
CIFAR pickles, ImageNet / Tiny-ImageNet folders); a missing dataset stops with
a clear message; the demo config runs end to end (search, policy file,
training, evaluation) through tools/train.py."""
import glob
import os
import os.path as osp
import pickle
import socket

import mmcv
import numpy as np
import pytest
import torch
from fixtures import ROOT, SAMPLE, run_tool
from mmengine.config import Config
from mmengine.runner import Runner

import das_mmseg  # noqa: F401
from das_mmseg.augment.policy import Policy
from das_mmseg.utils.launch import adapt_to_cpu, check_data_roots

CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p.split(os.sep))
# Segmentation pieces; the classification ones (das_cls_*) are built by the
# mmpretrain configs above.
MODEL_PIECES = sorted(
    p for p in glob.glob(
        osp.join(ROOT, 'configs', '_base_', 'models', 'das_*.py'))
    if not osp.basename(p).startswith('das_cls_'))
# crop of the segmentation stand-ins (output stride 8: 4x4 features)
SEG_SIZE = 32
CLS_SIZE = 32  # image size of the classification stand-ins
# training images per stand-in: two for the weights, two for the policy
NUM_IMAGES = 4


def config_id(path: str) -> str:
    return osp.relpath(path, osp.join(ROOT, 'configs'))


# tiny tensors: see conftest.one_thread
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Configs must resolve and models must build offline: any connection
    attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f'network access attempted: {args}')

    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)


def sample_pairs(split: str = 'train', count: int = NUM_IMAGES):
    """(name, BGR image, label map) of the first ``count`` real CamVid images
    of a split."""
    names = sorted(os.listdir(osp.join(SAMPLE, 'img_dir', split)))[:count]
    return [(osp.splitext(n)[0],
             mmcv.imread(osp.join(SAMPLE, 'img_dir', split, n)),
             mmcv.imread(
                 osp.join(SAMPLE, 'ann_dir', split,
                          osp.splitext(n)[0] + '.png'),
                 flag='unchanged')) for n in names]


def make_voc(root: str) -> None:
    """VOC 2012 + SBD layout: JPEGImages, SegmentationClass(Aug) PNGs and the
    ImageSets lists."""
    for folder in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                   'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    lists = {}
    for split in ('train', 'val'):
        pairs = sample_pairs(split)
        lists[split] = [name for name, _, _ in pairs]
        for name, image, label in pairs:
            mmcv.imwrite(image, osp.join(root, 'JPEGImages', name + '.jpg'))
            mmcv.imwrite(label,
                         osp.join(root, 'SegmentationClass', name + '.png'))
            mmcv.imwrite(label,
                         osp.join(root, 'SegmentationClassAug', name + '.png'))
    lists['aug'] = lists['train']
    for split, names in lists.items():
        with open(
                osp.join(root, 'ImageSets', 'Segmentation', split + '.txt'),
                'w') as f:
            f.write('\n'.join(names) + '\n')


def make_cityscapes(root: str) -> None:
    """leftImg8bit/<split>/<city>/*_leftImg8bit.png with
    gtFine/<split>/<city>/*_gtFine_labelTrainIds.png."""
    for split in ('train', 'val'):
        for name, image, label in sample_pairs(split):
            mmcv.imwrite(
                image,
                osp.join(root, 'leftImg8bit', split, 'camvid',
                         name + '_leftImg8bit.png'))
            mmcv.imwrite(
                label,
                osp.join(root, 'gtFine', split, 'camvid',
                         name + '_gtFine_labelTrainIds.png'))


def make_camvid(root: str) -> None:
    """img_dir/<split>/*.jpg with ann_dir/<split>/*.png, as
    tools/dataset_converters/camvid.py writes it."""
    for split in ('train', 'val'):
        for name, image, label in sample_pairs(split):
            mmcv.imwrite(image, osp.join(root, 'img_dir', split,
                                         name + '.jpg'))
            mmcv.imwrite(label, osp.join(root, 'ann_dir', split,
                                         name + '.png'))


def class_crops(count: int, size: int):
    """``count`` RGB ``size`` x ``size`` crops of real images with their
    dominant CamVid class as label."""
    crops = []
    for _, image, label in sample_pairs('train', 8):
        for x in (0, 60, 120):
            tile = label[30:150, x:x + 120]
            crops.append(
                (mmcv.imresize(image[30:150, x:x + 120],
                               (size, size))[..., ::-1],
                 int(
                     np.bincount(tile[tile < 255].ravel(),
                                 minlength=11).argmax())))
    return crops[:count]


def make_cifar(root: str, folder: str, train_files, test_file: str,
               meta_file: str, label_key: str, meta_key: str,
               num_classes: int) -> None:
    """CIFAR's python pickle batches (uint8 rows of 3x32x32, channel-major), as
    mmpretrain's CIFAR datasets read."""
    os.makedirs(osp.join(root, folder))
    crops = class_crops(NUM_IMAGES * (len(train_files) + 1), 32)
    files = list(train_files) + [test_file]
    for i, name in enumerate(files):
        part = crops[i * NUM_IMAGES:(i + 1) * NUM_IMAGES]
        data = np.stack([c.transpose(2, 0, 1).reshape(-1) for c, _ in part])
        with open(osp.join(root, folder, name), 'wb') as f:
            pickle.dump({
                'data': data,
                label_key: [label for _, label in part]
            }, f)
    with open(osp.join(root, folder, meta_file), 'wb') as f:
        pickle.dump({meta_key: [f'class{i}' for i in range(num_classes)]}, f)


def make_image_folders(root: str, train_sub: str, meta: bool = False) -> None:
    """``train/<wnid>/<train_sub>*.JPEG`` and ``val/<wnid>/*.JPEG``
    (Tiny-ImageNet after sorting val; ImageNet), with ``meta/{train,val}.txt``
    (``<file> <label>`` lines) if ``meta``: ImageNet needs them when it has
    fewer than its 1000 class folders."""
    for split in ('train', 'val'):
        lines = []
        for i, (crop, label) in enumerate(class_crops(NUM_IMAGES, 64)):
            wnid = f'n{label:08d}'
            name = osp.join(wnid, train_sub if split == 'train' else '',
                            f'{wnid}_{i}.JPEG')
            mmcv.imwrite(crop[..., ::-1], osp.join(root, split, name))
            lines.append(f'{name} {label}\n')
        if meta:
            os.makedirs(osp.join(root, 'meta'), exist_ok=True)
            with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
                f.writelines(lines)


@pytest.fixture(scope='module')
def stand_ins(tmp_path_factory):
    """Dataset type -> the root of its stand-in (made on first use)."""
    base = tmp_path_factory.mktemp('datasets')
    makers = {
        'PascalVOCDataset':
        make_voc,
        'CityscapesDataset':
        make_cityscapes,
        'CamVidDataset':
        make_camvid,
        'CIFAR10':
        lambda r: make_cifar(r, 'cifar-10-batches-py', [
            f'data_batch_{i}' for i in range(1, 6)
        ], 'test_batch', 'batches.meta', 'labels', 'label_names', 10),
        'CIFAR100':
        lambda r: make_cifar(r, 'cifar-100-python', ['train'], 'test', 'meta',
                             'fine_labels', 'fine_label_names', 100),
        'CustomDataset':
        lambda r: make_image_folders(r, 'images'),  # Tiny-ImageNet
        'ImageNet':
        lambda r: make_image_folders(r, '', meta=True),
    }
    roots = {}

    def root_of(dataset_type: str) -> str:
        if dataset_type not in roots:
            roots[dataset_type] = str(base / dataset_type)
            makers[dataset_type](roots[dataset_type])
        return roots[dataset_type]

    return root_of


def datasets_of(loader_cfg: dict):
    stack = [loader_cfg['dataset']]
    while stack:
        ds = stack.pop()
        stack.extend(ds.get('datasets', []))
        if 'dataset' in ds:
            stack.append(ds['dataset'])
        if 'datasets' not in ds and 'dataset' not in ds:
            yield ds


def shrink_pipeline(pipeline: list, segmentation: bool) -> None:
    """Shrink every resolution of a pipeline to the stand-in sizes, in
    place."""
    s = SEG_SIZE
    for t in pipeline:
        kind = t['type']
        if kind == 'RandomResize':
            t.update(scale=(2 * s, s), ratio_range=(1.0, 1.5))
        elif kind == 'Resize':
            t.update(scale=(2 * s, s))
        elif kind == 'RandomCrop':
            t['crop_size'] = (s, s) if segmentation else CLS_SIZE
        elif kind in ('RandomResizedCrop', 'ResizeEdge'):
            t['scale'] = CLS_SIZE
        elif kind == 'CenterCrop':
            t['crop_size'] = CLS_SIZE


def stand_in_cfg(path: str, work_dir: str, root_of) -> Config:
    """The config, shrunk to one training iteration on the stand-in of its
    dataset, without evaluation."""
    cfg = Config.fromfile(path)
    segmentation = cfg.get('default_scope') == 'mmseg'
    cfg.work_dir = work_dir
    for ds in datasets_of(cfg.train_dataloader):
        ds.data_root = root_of(ds.type)
        shrink_pipeline(ds.pipeline, segmentation)
        ds.serialize_data = False
    clip = cfg.model.get('clip_cell') is not None
    # BN needs two values per channel after PSPNet's 1x1 pooling: 2 images, or
    # 1 clip of T >= 2 frames.
    cfg.train_dataloader.update(
        batch_size=1 if clip else 2, num_workers=0, persistent_workers=False)
    if segmentation:
        cfg.model.data_preprocessor.size = (SEG_SIZE, SEG_SIZE)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    # epoch-based configs too: one iteration
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    for hook in cfg.get('custom_hooks', []):
        if hook.type == 'DASSearchHook':
            hook.pop('search_epochs', None)
            hook.search_iters = 1
    adapt_to_cpu(cfg)
    return cfg


def model_of(runner):
    return runner.model.module if hasattr(runner.model,
                                          'module') else runner.model


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_trains_one_iteration_on_a_stand_in(path, tmp_path, stand_ins,
                                                   monkeypatch):
    # The CIFAR stand-in batches are not the released files: skip their md5
    # check, not the existence check.
    monkeypatch.setattr('mmpretrain.datasets.cifar.check_md5',
                        lambda *args, **kwargs: True)
    cfg = stand_in_cfg(path, str(tmp_path / 'work'), stand_ins)
    das = any(h.type == 'DASSearchHook' for h in cfg.get('custom_hooks', []))
    runner = Runner.from_cfg(cfg)
    model = model_of(runner)
    before = {
        n: p.detach().clone()
        for n, p in model.named_parameters() if p.requires_grad
    }
    cell = getattr(model, 'clip_cell', None)
    alpha = cell.alpha.detach().clone() if cell is not None else None
    runner.train()

    assert runner.iter == 1
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert np.isfinite(loss) and loss > 0
    changed = [
        n for n, p in model.named_parameters()
        if n in before and not torch.equal(p, before[n])
    ]
    assert any(n.startswith('backbone.')
               for n in changed), 'the weight step did not update the backbone'
    temporal = model.backbone.temporal_modules() if hasattr(
        model.backbone, 'temporal_modules') else []
    if das:  # search step, derived policy written, cell switched to it
        assert cell is not None and cell.num_frames > 1 and temporal
        assert np.isfinite(
            runner.message_hub.get_scalar('train/das_loss').current())
        policy = Policy.load(osp.join(cfg.work_dir, 'das_policy.json'))
        assert policy.num_frames == cell.num_frames
        assert not torch.equal(cell.alpha,
                               alpha), 'the search step did not update alpha'
    else:  # the image baselines: one frame, no cell, no temporal module
        assert (cell is None and getattr(model, 'num_frames', 1) == 1
                and not temporal)


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_missing_dataset_names_the_path_and_the_readme_section(
        path, tmp_path, monkeypatch):
    # an empty working directory: no dataset anywhere
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(path)
    root = next(datasets_of(cfg.train_dataloader)).data_root
    with pytest.raises(FileNotFoundError) as error:
        check_data_roots(cfg)
    message = str(error.value)
    assert (f'"{root}"' in message
            and 'README.md, section "Datasets"' in message)


def test_readme_datasets_section_gives_every_layout():
    readme = open(osp.join(ROOT, 'README.md')).read()
    section = readme.split('## Datasets', 1)[1].split('\n## ', 1)[0]
    for expected in ('SegmentationClassAug', 'aug.txt', 'voc_aug.py',
                     '_gtFine_labelTrainIds.png', 'leftImg8bit',
                     'cityscapes.py', 'img_dir', 'ann_dir',
                     'cifar-10-batches-py', 'cifar-100-python',
                     'tiny-imagenet-200', 'data/imagenet'):
        assert expected in section, ('README "Datasets" does not mention '
                                     f'{expected}')


@pytest.mark.slow
@pytest.mark.parametrize('path', MODEL_PIECES, ids=config_id)
def test_model_piece_builds_and_trains_on_real_images(path):
    """The _base_/models pieces (GSF/TSM on ResNet-18/50 and MobileNetV2;
    PSPNet, FCN, DeepLabV3+): loss and gradients on a batch of real images, T
    frames each from the relaxed cell."""
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    cfg = Config.fromfile(path)
    cfg.model.data_preprocessor.size = (SEG_SIZE, SEG_SIZE)
    adapt_to_cpu(cfg)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    pairs = sample_pairs('train', 1)
    inputs, samples = [], []
    for _, image, label in pairs:
        inputs.append(
            torch.from_numpy(
                mmcv.imresize(image,
                              (SEG_SIZE, SEG_SIZE)).transpose(2, 0, 1).copy()))
        seg = mmcv.imresize(
            label, (SEG_SIZE, SEG_SIZE), interpolation='nearest')
        sample = SegDataSample(
            gt_sem_seg=PixelData(data=torch.from_numpy(seg)[None].long()))
        sample.set_metainfo(
            dict(
                img_shape=(SEG_SIZE, SEG_SIZE),
                ori_shape=(SEG_SIZE, SEG_SIZE)))
        samples.append(sample)
    data = model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.temporal_modules(
    ), 'a DAS model piece without temporal modules'
    assert (model.clip_cell.alpha.grad is not None
            and model.clip_cell.alpha.grad.abs().sum() > 0)


@pytest.mark.slow
def test_demo_runs_search_policy_training_and_evaluation(tmp_path):
    """configs/das_demo.py through tools/train.py, shortened: search, policy
    JSON + PNGs, training, mIoU."""
    work_dir = tmp_path / 'demo'
    proc = run_tool([
        'tools/train.py', 'configs/das_demo.py', '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_iters=3',
        'train_cfg.val_interval=3', 'custom_hooks.0.search_iters=2',
        'param_scheduler.0.end=3', 'default_hooks.checkpoint.interval=3',
        'train_dataloader.batch_size=2', 'val_dataloader.dataset.indices=4'
    ],
                    timeout=240)
    log = proc.stdout + proc.stderr
    policy = Policy.load(str(work_dir / 'das_policy.json'))
    assert policy.num_frames == 4
    for name in ('das_alpha.png', 'das_clip.png'):
        image = mmcv.imread(str(work_dir / name))
        assert image is not None and image.size > 0
    assert 'search done after' in log and str(
        work_dir / 'das_policy.json') in log
    # where to look
    assert str(work_dir / 'das_alpha.png') in log and str(
        work_dir / 'das_clip.png') in log
    assert 'Saving checkpoint at 3 iterations' in log
    miou = [
        line for line in log.splitlines()
        if 'Iter(val) [4/4]' in line and 'mIoU:' in line
    ]
    assert miou, 'no mIoU line after the evaluation'
    value = float(miou[-1].split('mIoU:')[1].split()[0])
    assert 0 <= value <= 100
    assert osp.isfile(work_dir / 'iter_3.pth')
