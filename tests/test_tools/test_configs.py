"""Every config in configs/ resolves offline; the runnable ones build their
model, train on a tiny stand-in of their dataset's format made from the real
images of data/camvid_sample (VOC + SBD, Cityscapes, CamVid, CIFAR pickles,
ImageNet / Tiny-ImageNet folders) and run the test loop on it, as
tools/test.py does; DAS configs search (α moves), write das_policy.json and
retrain with the policy; baselines are plain mmseg / mmpretrain models. Each
DAS config and its image baseline differ only in the DAS parts; a missing
dataset stops with a clear message; old config names forward to the new
ones; the demo config runs end to end through tools/train.py."""
import copy
import functools
import glob
import os
import os.path as osp
import pickle
import re
import socket
from typing import Optional

import mmcv
import numpy as np
import pytest
import torch
from fixtures import ROOT, SAMPLE, clear_global_instances, run_tool
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS

import das_mmseg  # noqa: F401
from das_mmseg.apis.test import run_test
from das_mmseg.augment.policy import Policy
from das_mmseg.engine.checkpoint.pretrained import REMOTE_SCHEMES
from das_mmseg.launch import adapt_to_cpu, check_data_roots, prepare_run

CONFIG_ROOT = osp.join(ROOT, 'configs')
ALL_CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in p.split(os.sep))
FORWARD_NOTE = 'Old name, kept for one release'


def forward_target(path: str) -> Optional[str]:
    """The config an old name forwards to, None for a config of its own."""
    text = open(path).read()
    if FORWARD_NOTE not in text:
        return None
    found = re.fullmatch(r"_base_ = \[\s*'([^']+)'\s*\]\s*",
                         re.sub(r'(?m)^#.*\n', '', text))
    assert found, f'{path}: a forwarding config holds only its _base_'
    return osp.normpath(osp.join(osp.dirname(path), found.group(1)))


FORWARDS = [p for p in ALL_CONFIGS if forward_target(p)]
CONFIGS = [p for p in ALL_CONFIGS if p not in FORWARDS]
DAS_CONFIGS = [p for p in CONFIGS if osp.basename(p).startswith('das')]
# The segmentation model pieces no runnable config names (the others train
# in the stand-in test of their configs); every classification piece is used.
MODEL_PIECES = sorted(
    p
    for p in glob.glob(osp.join(CONFIG_ROOT, '_base_', 'models', 'das_*.py'))
    if not osp.basename(p).startswith('das_cls_') and not any(
        '/models/' + osp.basename(p) in open(c).read() for c in CONFIGS))
DEMO = osp.join(
    'configs', 'das',
    'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py')
# crop of the segmentation stand-ins (output stride 8: 4x4 features)
SEG_SIZE = 32
CLS_SIZE = 32  # image size of the classification stand-ins
# training images per stand-in: two for the weights, two for the policy
NUM_IMAGES = 4
TEST_IMAGES = 1


def config_id(path: str) -> str:
    return osp.relpath(path, CONFIG_ROOT)


@pytest.fixture(scope='module', autouse=True)
def read_metafiles_once():
    """Read each model-zoo metafile of mmseg and mmpretrain once.

    mmengine resolves every ``mmseg::`` / ``mmpretrain::`` base by loading
    all of the package's metafiles (about 1.4 s each time); they do not
    change during the tests, so their parsed content is reused. The configs
    resolve exactly as before.
    """
    import mmengine.config.utils as config_utils
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config_utils, 'load',
                      functools.lru_cache(maxsize=None)(config_utils.load))
        yield


_CONFIGS = {}


def load_config(path: str) -> Config:
    """``Config.fromfile(path)``, parsed once per test module (a copy).

    Without yapf formatting of the config text the Runner logs and dumps
    (mmengine's ``format_python_code`` option; about a second per config).
    """
    if path not in _CONFIGS:
        cfg = Config.fromfile(path)
        # fromfile ignores format_python_code for these configs (mmengine
        # 0.10.7 passes it on only for lazy-import ones): set it here
        _CONFIGS[path] = Config(
            cfg.to_dict(),
            cfg_text=cfg.text,
            filename=cfg.filename,
            format_python_code=False)
    return copy.deepcopy(_CONFIGS[path])


def baseline_of(path: str) -> str:
    """The image baseline's path of a DAS config, by the naming rule: no
    'das' model prefix, no 'gsf-' and no '-t<T>' in the backbone field, no
    tag of a clip-only objective ('-warped': an image model has one frame,
    nothing to warp)."""
    name = re.sub(r'^das[-_]', '', osp.basename(path))
    name = re.sub(r'-t\d+(?=[_-])', '', name.replace('gsf-', ''))
    name = name.replace('-warped_', '_')
    return osp.join(osp.dirname(path), name)


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
    mmpretrain's CIFAR datasets read: NUM_IMAGES training images in the
    first training batch (the others empty), TEST_IMAGES in the test
    batch."""
    os.makedirs(osp.join(root, folder))
    crops = class_crops(NUM_IMAGES + TEST_IMAGES, 32)
    parts = {name: [] for name in train_files}
    parts[train_files[0]] = crops[:NUM_IMAGES]
    parts[test_file] = crops[NUM_IMAGES:]
    for name, part in parts.items():
        data = np.zeros((len(part), 3 * 32 * 32), np.uint8)
        for row, (crop, _) in enumerate(part):
            data[row] = crop.transpose(2, 0, 1).reshape(-1)
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


@pytest.fixture(scope='module')
def image_net_weights(tmp_path_factory):
    """Backbone config -> a local file of its 2-D backbone's weights, in the
    format mmseg's open-mmlab:// ResNetV1c checkpoints have (a plain state
    dict): what a user passes for a remote checkpoint offline."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    base = tmp_path_factory.mktemp('weights')
    files = {}

    def file_for(backbone: dict) -> str:
        key = (backbone['type'], backbone.get('depth'))
        if key not in files:
            init_default_scope('mmseg')
            torch.manual_seed(0)
            plain = MODELS.build(
                dict(
                    type=backbone['type'].replace('Video', ''),
                    depth=backbone['depth']))
            files[key] = str(base / f'{key[0]}{key[1]}.pth')
            torch.save(plain.state_dict(), files[key])
        return files[key]

    return file_for


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


def is_das(cfg: Config) -> bool:
    return cfg.model.get('clip_cell') is not None


def stand_in_cfg(path: str, work_dir: str, root_of, weights_of) -> Config:
    """The config, shrunk to the shortest run of its own train loop (one
    search iteration or epoch, then one training iteration or epoch) on the
    stand-in of its dataset (small crops, clips of 2 frames), and a test loop
    over one image."""
    cfg = load_config(path)
    segmentation = cfg.get('default_scope') == 'mmseg'
    cfg.work_dir = work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for ds in datasets_of(cfg[loader]):
            ds.data_root = root_of(ds.type)
            shrink_pipeline(ds.pipeline, segmentation)
            ds.serialize_data = False
            if loader != 'train_dataloader':
                ds.indices = TEST_IMAGES
        cfg[loader].update(num_workers=0, persistent_workers=False)
    by_epoch = 'max_epochs' in cfg.train_cfg
    # BN needs two values per channel after PSPNet's 1x1 pooling: 2 images, or
    # 1 clip of T >= 2 frames; epoch loops: fewer iterations per epoch.
    cfg.train_dataloader.batch_size = 1 if is_das(cfg) and not by_epoch else 2
    if segmentation:
        cfg.model.data_preprocessor.size = (SEG_SIZE, SEG_SIZE)
    length = 'max_epochs' if by_epoch else 'max_iters'
    cfg.train_cfg.update({length: 1, 'val_interval': 10})  # no validation
    if is_das(cfg):
        cfg.das_search['search_epochs' if by_epoch else 'search_iters'] = 1
        # clips of 2 frames (the configured T is built in the twin test)
        cfg.model.num_frames = 2
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=True)
    init = cfg.model.backbone.get('init_cfg') or {}
    if init.get('checkpoint', '').startswith(REMOTE_SCHEMES):
        # what the offline error message tells a user to do
        init.checkpoint = weights_of(cfg.model.backbone)
    adapt_to_cpu(cfg)
    return cfg


def model_of(runner):
    return runner.model.module if hasattr(runner.model,
                                          'module') else runner.model


class RecordInitialBackbone(Hook):
    """The backbone's first weight as training starts (after the
    initialisation and any pretrained load)."""

    def before_train(self, runner):
        first = next(iter(model_of(runner).backbone.state_dict().items()))
        self.name, self.value = first[0], first[1].detach().clone()


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_trains_and_tests_on_a_stand_in(path, tmp_path, stand_ins,
                                               image_net_weights, monkeypatch):
    # The CIFAR stand-in batches are not the released files: skip their md5
    # check, not the existence check.
    monkeypatch.setattr('mmpretrain.datasets.cifar.check_md5',
                        lambda *args, **kwargs: True)
    cfg = stand_in_cfg(path, str(tmp_path / 'work'), stand_ins,
                       image_net_weights)
    runner = RUNNERS.build(cfg)  # the config's runner_type, as the tools
    initial = RecordInitialBackbone()
    runner.register_hook(initial)
    model = model_of(runner)
    cell = getattr(model, 'clip_cell', None)
    alpha = cell.alpha.detach().clone() if cell is not None else None
    runner.train()

    loss = runner.message_hub.get_scalar('train/loss').current()
    assert np.isfinite(loss) and loss > 0
    init = cfg.model.backbone.get('init_cfg') or {}
    if init.get('type') == 'Pretrained':  # the weights were loaded
        weights = torch.load(init.checkpoint, weights_only=True)
        assert torch.equal(initial.value, weights[initial.name])
    trained = model.backbone.state_dict()[initial.name]
    assert not torch.equal(trained, initial.value), 'no weight step'

    if is_das(cfg):  # searched, policy derived and written, cell uses it
        temporal = model.backbone.temporal_modules()
        assert cell.num_frames > 1 and temporal
        assert not torch.equal(cell.alpha, alpha), 'no search step'
        policy = Policy.load(osp.join(cfg.work_dir, 'das_policy.json'))
        assert policy.num_frames == cell.num_frames
        assert cell.policy is not None
    else:  # a plain mmseg / mmpretrain model, nothing of das_mmseg in it
        from mmpretrain.models import ImageClassifier
        from mmseg.models import EncoderDecoder
        assert type(model) in (EncoderDecoder, ImageClassifier)
        ours = {
            type(m).__name__
            for m in model.modules()
            if type(m).__module__.startswith('das_mmseg')
        }
        assert not ours, f'das_mmseg modules in a baseline: {ours}'

    metrics = runner.test()
    score = metrics['mIoU'] if 'mIoU' in metrics else metrics['accuracy/top1']
    assert 0 <= score <= 100

    # what tools/test.py runs: a fresh Runner that knows only the config and
    # the checkpoint (every hook must be inert outside training, and the
    # clip cell takes its policy from the checkpoint)
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    test_cfg = copy.deepcopy(cfg)
    test_cfg.load_from = checkpoint
    test_cfg.work_dir = str(tmp_path / 'test')
    clear_global_instances()
    assert run_test(test_cfg) == metrics


@pytest.mark.parametrize('path', FORWARDS, ids=config_id)
def test_old_name_forwards_to_the_new_config(path):
    target = forward_target(path)
    assert osp.isfile(target) and target in CONFIGS
    assert osp.relpath(target, CONFIG_ROOT).startswith('das' + os.sep)
    old, new = load_config(path), load_config(target)
    assert old.to_dict() == new.to_dict()


def without_scope(node):
    """A config dict without the ``_scope_`` keys mmengine adds to what an
    ``mmseg::`` / ``mmpretrain::`` base defines."""
    if isinstance(node, dict):
        return {k: without_scope(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [without_scope(v) for v in node]
    return node


def weight_recipe(cfg: Config) -> dict:
    """What trains the weights: optimizer wrapper (without the DAS policy
    parts), schedulers, lengths, data, evaluation."""
    optim = {
        k: v
        for k, v in cfg.optim_wrapper.items()
        if k not in ('constructor', 'policy', 'magnitude_lr')
    }
    optim.setdefault('type', 'OptimWrapper')
    schedulers = cfg.param_scheduler
    if isinstance(schedulers, dict) and 'model' in schedulers:
        schedulers = schedulers['model']
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    lengths = {
        k: cfg.train_cfg[k]
        for k in ('max_iters', 'max_epochs', 'val_interval')
        if k in cfg.train_cfg
    }
    preprocessor = cfg.get('data_preprocessor') or {}
    if 'data_preprocessor' in cfg.model:
        preprocessor = cfg.model.data_preprocessor
    recipe = dict(
        optim_wrapper=optim,
        param_scheduler=schedulers,
        lengths=lengths,
        data_preprocessor={
            k: v
            for k, v in preprocessor.items() if k != 'type'
        },
        model_train_test=(cfg.model.get('train_cfg'),
                          cfg.model.get('test_cfg')))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator', 'auto_scale_lr',
                'randomness', 'default_hooks'):
        recipe[key] = cfg.get(key)
    return without_scope(recipe)


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=config_id)
def test_config_chooses_crash_safe_checkpoints(path):
    # the config names the hook; the tools replace no hook of a config
    hook = load_config(path).default_hooks.checkpoint
    assert hook.type == 'CrashSafeCheckpointHook'


def test_the_tools_keep_a_config_s_own_checkpoint_hook(tmp_path):
    cfg = load_config(
        'configs/das/pspnet_r18tiny-d16_1xb4-300iter_camvid-sample-96x96.py')
    cfg.default_hooks.checkpoint.type = 'CheckpointHook'
    cfg.work_dir = str(tmp_path)
    prepare_run(cfg)
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'


@pytest.mark.parametrize('path', DAS_CONFIGS, ids=config_id)
def test_image_baseline_twin_differs_only_in_the_das_parts(path):
    twin = baseline_of(path)
    assert twin in CONFIGS, f'no image baseline {twin}'
    das, baseline = weight_recipe(load_config(path)), weight_recipe(
        load_config(twin))
    for key in das:
        assert das[key] == baseline[key], key


def state_shapes(model) -> dict:
    return {
        k: tuple(v.shape)
        for k, v in model.state_dict().items()
        if not k.startswith(('clip_cell.',
                             'data_preprocessor.')) and '.temporal.' not in k
    }


@pytest.mark.slow
@pytest.mark.parametrize('path', DAS_CONFIGS, ids=config_id)
def test_das_model_is_its_baseline_plus_cell_and_temporal_modules(path):
    from mmengine.registry import init_default_scope
    models = []
    for config in (path, baseline_of(path)):
        cfg = load_config(config)
        adapt_to_cpu(cfg)
        scope = cfg.default_scope
        init_default_scope(scope)
        registry = __import__(f'{scope}.registry', fromlist=['MODELS'])
        model_cfg = cfg.model
        if 'data_preprocessor' in cfg and scope == 'mmpretrain':
            model_cfg = dict(
                model_cfg, data_preprocessor=cfg.data_preprocessor)
        models.append(registry.MODELS.build(model_cfg))
    das, baseline = models
    assert state_shapes(das) == state_shapes(baseline)
    assert das.backbone.temporal_modules() and das.clip_cell is not None


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_backbone_lr_is_scaled_only_when_pretrained(path):
    cfg = load_config(path)
    init = cfg.model.backbone.get('init_cfg') or {}
    pretrained = init.get('type') == 'Pretrained' or cfg.model.get(
        'pretrained')
    keys = (cfg.optim_wrapper.get('paramwise_cfg')
            or {}).get('custom_keys', {})
    scaled = keys.get('backbone', {}).get('lr_mult', 1.0) != 1.0
    assert bool(pretrained) == scaled
    if pretrained:  # mmseg's checkpoint names
        assert init.checkpoint.startswith('open-mmlab://resnet')
    assert (cfg.optim_wrapper.get('clip_grad')
            or {}).get('max_norm') == 5 or 'smoke' in path


@pytest.mark.parametrize('path', DAS_CONFIGS, ids=config_id)
def test_the_cell_normalises_as_the_data_preprocessor(path):
    cell = load_config(path).model.clip_cell
    assert not {'mean', 'std', 'channel_order'} & set(cell), (
        'the cell takes its normalisation from the data preprocessor')


def pipelines_of(cfg: Config):
    """(name, transforms) of every pipeline of a config: the datasets' and
    each stage of the test-time augmentation."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for ds in datasets_of(cfg[loader]):
            yield loader, ds.pipeline
    for step in cfg.get('tta_pipeline', []):
        if step['type'] == 'TestTimeAug':
            yield 'tta_pipeline', [stage[0] for stage in step['transforms']]


SEG_CONFIGS = [
    p for p in CONFIGS if '/mmpretrain/' not in p.replace(os.sep, '/')
]


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=config_id)
def test_label_guard_follows_load_annotations(path):
    cfg = load_config(path)
    num_classes = cfg.model.decode_head.num_classes
    seen = 0
    for name, pipeline in pipelines_of(cfg):
        types = [t['type'] for t in pipeline]
        at = types.index('LoadAnnotations')
        guard = pipeline[at + 1]
        assert guard['type'] == 'CheckSegLabels', (name, types)
        assert (guard['num_classes'], guard['ignore_index']) == (num_classes,
                                                                 255), name
        seen += 1
    assert seen >= 4  # train, val, test, tta


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=config_id)
def test_missing_dataset_names_the_path_and_the_readme_section(
        path, tmp_path, monkeypatch):
    # an empty working directory: no dataset anywhere
    monkeypatch.chdir(tmp_path)
    cfg = load_config(path)
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
    """The _base_/models pieces no config uses (TSM, MobileNetV2, FCN,
    DeepLabV3+): loss and gradients on a real image, 2 frames from the
    relaxed cell."""
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    cfg = load_config(path)
    cfg.model.data_preprocessor.size = (SEG_SIZE, SEG_SIZE)
    cfg.model.backbone.init_cfg = None  # offline: ImageNet weights elsewhere
    cfg.model.num_frames = 2  # T = 2: the piece, not its cost
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
    with model.clip_cell.arch_grad():  # α trains only in the search step
        losses = model.loss(data['inputs'], data['data_samples'])
        loss, _ = model.parse_losses(losses)
        assert torch.isfinite(loss)
        loss.backward()
        assert (model.clip_cell.alpha.grad is not None
                and model.clip_cell.alpha.grad.abs().sum() > 0)
    assert model.backbone.temporal_modules(
    ), 'a DAS model piece without temporal modules'
    assert all(p.grad is not None for n, p in model.named_parameters()
               if n.startswith('backbone.layer4.')), 'no gradient'


@pytest.mark.slow
def test_demo_runs_search_policy_retraining_and_evaluation(tmp_path):
    """The demo config through tools/train.py, shortened: search, policy JSON
    and pictures, retraining on the whole set, mIoU."""
    work_dir = tmp_path / 'demo'
    proc = run_tool([
        'tools/train.py', DEMO, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_iters=3',
        'train_cfg.val_interval=3', 'das_search.search_iters=2',
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
        assert str(work_dir / name) in log  # where to look
    assert 'search done at iteration 2' in log
    assert f'derived policy written to {work_dir / "das_policy.json"}' in log
    assert ('restored to their initial state; training on the whole set '
            '(48 samples) for 3 iters') in log
    miou = [
        line for line in log.splitlines()
        if 'Iter(val) [4/4]' in line and 'mIoU:' in line
    ]
    assert miou, 'no mIoU line after the evaluation'
    value = float(miou[-1].split('mIoU:')[1].split()[0])
    assert 0 <= value <= 100
    assert osp.isfile(work_dir / 'iter_5.pth')  # 2 search + 3 training
