"""Testing and inference of trained clip models: tools/test.py (mmseg and
mmpretrain configs, --out, --show-dir, --tta, tools/dist_test.sh over gloo),
demo/image_demo.py, das_mmseg.apis and DASInferencer on one trained demo run,
with identical predictions, and the clip each image was seen as."""
import json
import os
import os.path as osp
import pickle
import socket
import textwrap

import mmcv
import numpy as np
import pytest
import torch
from fixtures import ROOT, SAMPLE, run_tool
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

import das_mmseg  # noqa: F401
from das_mmseg.apis import (clip_space, inference_clip, inference_model,
                            preprocessed_clips)
from das_mmseg.apis.inference import prepare_batch
from das_mmseg.apis.test import build_test_config, run_test
from das_mmseg.augment import Policy
from das_mmseg.datasets.transforms import ImageToVideo

pytestmark = pytest.mark.usefixtures('one_thread')
OPS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate')
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
VAL_IMAGES = osp.join(SAMPLE, 'img_dir', 'val')


def val_image(index: int = 0) -> str:
    return osp.join(VAL_IMAGES, sorted(os.listdir(VAL_IMAGES))[index])


def write(path, text: str) -> str:
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return str(path)


# ---- tools/test.py as functions (no Runner) --------------------------------


@pytest.fixture
def checkpoint_file(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {}}, path)
    return str(path)


def test_test_config_segmentation_flags(tmp_path, checkpoint_file):
    demo = osp.join(ROOT, 'configs', 'das_demo.py')
    cfg = build_test_config(
        demo,
        checkpoint_file,
        work_dir=str(tmp_path / 'work'),
        out=str(tmp_path / 'preds'),
        show_dir=str(tmp_path / 'show'),
        tta=True,
        cfg_options={'test_dataloader.batch_size': 1})
    assert cfg.load_from == checkpoint_file
    assert cfg.work_dir == str(tmp_path / 'work')
    assert cfg.test_evaluator.output_dir == str(tmp_path / 'preds')
    # made on every rank: IoUMetric makes it on the main process only
    assert osp.isdir(tmp_path / 'preds')
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.default_hooks.visualization.interval == 1  # every image
    assert cfg.visualizer.save_dir == str(tmp_path / 'show')
    # TTA wraps the clip model, and the test set runs the TTA pipeline
    assert cfg.model.type == 'SegTTAModel'
    assert cfg.model.module.type == 'ClipEncoderDecoder'
    assert cfg.test_dataloader.dataset.pipeline[1].type == 'TestTimeAug'
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build_test_config(demo, str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='lacks tta_pipeline'):
        build_test_config(
            demo,
            checkpoint_file,
            tta=True,
            cfg_options={'tta_pipeline': None})


def classification_config(tmp_path) -> str:
    """A tiny mmpretrain config: a clip classifier (T = 2 pan) on a folder of
    real CamVid crops."""
    root = tmp_path / 'cls'
    for index, name in enumerate(sorted(os.listdir(VAL_IMAGES))[:4]):
        image = mmcv.imread(osp.join(VAL_IMAGES, name))
        mmcv.imwrite(
            mmcv.imresize(image[:, :180], (32, 32)),
            str(root / f'class{index % 2}' / f'{index}.png'))
    policy = Policy(ops=OPS, nodes=[[(0, 'shift_x', 0.05)]], num_frames=2)
    return write(
        tmp_path / 'cls_config.py', f'''
        _base_ = ['mmpretrain::_base_/default_runtime.py']
        custom_imports = dict(imports=['das_mmseg'],
                              allow_failed_imports=False)
        model = dict(
            type='ClipImageClassifier',
            data_preprocessor=dict(type='ClipClsDataPreprocessor',
                                   mean={MEAN}, std={STD}, to_rgb=True,
                                   num_classes=2),
            clip_cell=dict(type='ClipCell', num_frames=2, num_nodes=1,
                           policy={policy.to_dict()!r}),
            backbone=dict(type='VideoResNet_CIFAR', depth=18,
                          base_channels=8, stem_channels=8, num_segments=2),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=64))
        test_dataloader = dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='CustomDataset', data_root={str(root)!r},
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='PackInputs')]))
        test_evaluator = dict(type='Accuracy', topk=(1, ))
        test_cfg = dict()
        ''')


def test_test_config_classification_flags(tmp_path, checkpoint_file):
    config = classification_config(tmp_path)
    cfg = build_test_config(
        config,
        checkpoint_file,
        out=str(tmp_path / 'preds.pkl'),
        show_dir=str(tmp_path / 'show'))
    # mmpretrain's meanings: a pickle of the predictions, the
    # VisualizationHook's folder, flip averaging
    assert cfg.test_evaluator == [
        dict(type='Accuracy', topk=(1, )),
        dict(type='DumpResults', out_file_path=str(tmp_path / 'preds.pkl'))
    ]
    hook = cfg.default_hooks.visualization
    assert hook.enable is True and hook.out_dir == str(tmp_path / 'show')
    cfg = build_test_config(config, checkpoint_file, tta=True)
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'ClipImageClassifier'
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'
    with pytest.raises(ValueError, match='without --tta'):
        build_test_config(
            config, checkpoint_file, show_dir=str(tmp_path), tta=True)


@pytest.mark.slow
def test_test_py_runs_an_mmpretrain_clip_classifier(tmp_path):
    """mmpretrain's test loop and evaluator, --out, --show-dir and --tta on a
    clip classifier checkpoint."""
    config = classification_config(tmp_path)
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'cls.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    for tta in (False, True):
        out = tmp_path / f'preds_{tta}.pkl'
        metrics = run_test(
            build_test_config(
                config,
                checkpoint,
                work_dir=str(tmp_path / 'work'),
                out=str(out),
                show_dir=None if tta else str(tmp_path / 'show'),
                tta=tta))
        assert 0 <= metrics['accuracy/top1'] <= 100
        with open(out, 'rb') as f:
            predictions = pickle.load(f)
        assert len(predictions) == 4
        assert all(p['pred_score'].shape == (2, ) for p in predictions)
    assert len(os.listdir(tmp_path / 'show')) == 4


# ---- apis without training -------------------------------------------------


def tiny_clip_segmentor(cell: bool, bgr_to_rgb: bool = True):
    """A small ClipEncoderDecoder with a test pipeline: a 3-frame pan made by
    its clip cell, or by an ImageToVideo step (then no cell)."""
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    policy = Policy(ops=OPS, nodes=[[(0, 'shift_x', 0.1)]], num_frames=3)
    model = MODELS.build(
        ConfigDict(
            type='ClipEncoderDecoder',
            data_preprocessor=dict(
                type='ClipSegDataPreProcessor',
                mean=MEAN,
                std=STD,
                bgr_to_rgb=bgr_to_rgb),
            clip_cell=dict(
                type='ClipCell',
                num_frames=3,
                num_nodes=1,
                policy=policy.to_dict()) if cell else None,
            num_frames=None if cell else 3,
            backbone=dict(
                type='ResNetV1c',
                depth=18,
                stem_channels=8,
                base_channels=8,
                norm_cfg=dict(type='BN')),
            decode_head=dict(
                type='FCNHead',
                in_channels=64,
                in_index=3,
                channels=8,
                num_convs=1,
                num_classes=11,
                dropout_ratio=0,
                norm_cfg=dict(type='BN'),
                align_corners=False),
            test_cfg=dict(mode='whole'))).eval()
    to_video = [] if cell else [
        dict(type='ImageToVideo', policy=policy.to_dict())
    ]
    model.cfg = Config(
        dict(test_pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(240, 180), keep_ratio=True), *to_video,
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ]))
    return model, policy


def test_inference_model_keeps_the_config_and_takes_files_and_arrays():
    """mmseg's inference_model rewrites model.cfg.test_pipeline in place, so
    a file after an array fails; ours builds the pipeline per call."""
    model, _ = tiny_clip_segmentor(cell=True)
    before = model.cfg.test_pipeline
    image = mmcv.imread(val_image())
    from_array = inference_model(model, image)
    from_file = inference_model(model, val_image())
    assert model.cfg.test_pipeline == before
    assert torch.equal(from_array.pred_sem_seg.data,
                       from_file.pred_sem_seg.data)
    assert from_file.pred_sem_seg.shape == image.shape[:2]
    both = inference_model(model, [val_image(), val_image(1)])
    assert len(both) == 2
    assert torch.equal(both[0].pred_sem_seg.data, from_file.pred_sem_seg.data)


@pytest.mark.parametrize(
    'cell, bgr_to_rgb', [(True, True), (False, True), (False, False)],
    ids=['cell', 'ImageToVideo', 'ImageToVideo-BGR'])
def test_inference_clip_is_the_clip_the_model_sees(cell, bgr_to_rgb):
    """The frames come back as RGB pixels: the reference frame is the image,
    the others the policy's pan, whether the cell or the pipeline made
    them, whatever the channel order the model works in."""
    model, policy = tiny_clip_segmentor(cell, bgr_to_rgb)
    image = mmcv.imread(val_image())
    frames = inference_clip(model, val_image())
    assert frames.shape == (3, 180, 240, 3) and frames.dtype == np.uint8
    assert np.abs(frames[policy.ref_frame].astype(int) -
                  image[..., ::-1]).max() <= 1
    expected = ImageToVideo(policy=policy.to_dict())(dict(img=image))['img']
    expected = expected.reshape(180, 240, 3, 3).transpose(2, 0, 1, 3)
    assert np.abs(frames.astype(int) - expected[..., ::-1]).max() <= 1
    data, _ = prepare_batch(model, val_image())
    space = clip_space(model, clip_from_pipeline=not cell)
    assert space.channel_order == ('rgb' if bgr_to_rgb else 'bgr')
    np.testing.assert_allclose(space.mean, MEAN, rtol=1e-6)
    assert np.array_equal(preprocessed_clips(model, data)[0], frames)


def test_preprocessed_clips_refuses_an_image_model():
    from mmseg.models import EncoderDecoder
    with pytest.raises(TypeError, match='EncoderDecoder'):
        preprocessed_clips(
            EncoderDecoder.__new__(EncoderDecoder), dict(inputs=[]))


# ---- one trained DAS demo run -----------------------------------------------

DEMO = osp.join(
    ROOT, 'configs', 'das',
    'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-'
    '96x96.py')


def last_metrics(json_file: str) -> dict:
    """The last line of an mmengine JSON log that holds mIoU."""
    with open(json_file) as f:
        lines = [
            eval_line for eval_line in map(json.loads, f)
            if 'mIoU' in eval_line
        ]
    return lines[-1]


@pytest.fixture(scope='module')
def trained_demo(tmp_path_factory):
    """The demo config, shrunk (64x64 crops, 8 search + 40 training
    iterations, a larger lr so the model predicts several classes), trained
    through tools/train.py; its work dir, config, last checkpoint and
    end-of-training metrics."""
    work = tmp_path_factory.mktemp('demo')
    config = write(
        work / 'tiny_demo.py', f'''
        _base_ = [{DEMO!r}]
        crop_size = (64, 64)
        model = dict(data_preprocessor=dict(size=crop_size))
        train_dataloader = dict(
            num_workers=0, persistent_workers=False,
            dataset=dict(pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='RandomResize', scale=(240, 180),
                     ratio_range=(0.5, 1.0), keep_ratio=True),
                dict(type='RandomCrop', crop_size=crop_size,
                     cat_max_ratio=0.75),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackSegInputs')]))
        train_cfg = dict(max_iters=40, val_interval=40)
        das_search = dict(search_iters=8)
        param_scheduler = [
            dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40,
                 by_epoch=False)]
        default_hooks = dict(checkpoint=dict(interval=40))
        optim_wrapper = dict(optimizer=dict(lr=0.05))
        ''')
    run_tool(['tools/train.py', config, '--work-dir',
              str(work / 'run')],
             env=dict(OMP_NUM_THREADS='1'))
    with open(work / 'run' / 'last_checkpoint') as f:
        checkpoint = f.read().strip()
    (stamp, ) = [d for d in os.listdir(work / 'run') if d[:2] == '20']
    return dict(
        root=work,
        config=config,
        checkpoint=checkpoint,
        policy=str(work / 'run' / 'das_policy.json'),
        metrics=last_metrics(
            str(work / 'run' / stamp / 'vis_data' / 'scalars.json')))


@pytest.fixture(scope='module')
def tested(trained_demo):
    """tools/dist_test.sh on the demo's last checkpoint: tools/test.py in 2
    CPU processes over gloo (each tests half of the images), with --out and
    --show-dir."""
    out = trained_demo['root'] / 'test'
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    run_tool([
        'tools/dist_test.sh', trained_demo['config'],
        trained_demo['checkpoint'], '2', '--work-dir',
        str(out), '--out',
        str(out / 'preds'), '--show-dir',
        str(out / 'show')
    ],
             env=dict(OMP_NUM_THREADS='1', PORT=str(port)))
    (stamp, ) = [d for d in os.listdir(out) if d[:2] == '20']
    return dict(
        out=out,
        metrics=last_metrics(str(out / stamp / f'{stamp}.json')),
        preds=out / 'preds')


def load_tool(path: str):
    """A command-line script as a module (its ``main(argv)`` runs it in this
    process)."""
    import importlib.util
    name = osp.splitext(osp.basename(path))[0] + '_tool'
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_label_png(path) -> np.ndarray:
    return mmcv.imread(str(path), flag='unchanged')


@pytest.mark.slow
def test_dist_test_reproduces_the_end_of_training_evaluation(
        trained_demo, tested):
    trained, metrics = trained_demo['metrics'], tested['metrics']
    for key in ('mIoU', 'aAcc', 'mAcc'):
        assert abs(metrics[key] - trained[key]) < 0.01, key
    names = sorted(os.listdir(VAL_IMAGES))
    assert sorted(os.listdir(
        tested['preds'])) == [osp.splitext(n)[0] + '.png' for n in names]
    # mmengine's visualizer draws on the main process: rank 0's half
    painted = os.listdir(tested['out'] / 'show' / 'vis_data' / 'vis_image')
    assert len(painted) == len(names) // 2


@pytest.mark.slow
def test_a_swapped_policy_changes_the_result(trained_demo, tested, tmp_path):
    """tools/test.py (one process) with --cfg-options
    model.clip_cell.policy=OTHER.json: the config's policy overrides the
    checkpoint's, with a warning, and the model predicts otherwise."""
    other = tmp_path / 'other.json'
    Policy(
        ops=OPS,
        nodes=[[(0, 'rotate', 20.0)], [(2, 'zoom', 1.3)]],
        num_frames=4).save(str(other))
    test_py = load_tool('tools/test.py')
    with pytest.warns(UserWarning, match='overrides the checkpoint'):
        metrics = test_py.main([
            trained_demo['config'], trained_demo['checkpoint'], '--work-dir',
            str(tmp_path), '--out',
            str(tmp_path / 'preds'), '--cfg-options',
            f'model.clip_cell.policy={other}'
        ])
    # different at the precision IoUMetric reports (2 decimals) ...
    assert abs(metrics['mIoU'] - trained_demo['metrics']['mIoU']) >= 0.01
    # ... because many pixels are predicted otherwise
    changed = np.mean([
        np.mean(
            read_label_png(tmp_path / 'preds' /
                           name) != read_label_png(tested['preds'] / name))
        for name in os.listdir(tested['preds'])
    ])
    assert changed > 0.02


@pytest.mark.slow
def test_tta_runs_the_clip_model(trained_demo, tmp_path):
    cfg = build_test_config(
        trained_demo['config'],
        trained_demo['checkpoint'],
        work_dir=str(tmp_path),
        tta=True,
        cfg_options={'test_dataloader.dataset.indices': 1})
    metrics = run_test(cfg)
    assert 0 < metrics['mIoU'] <= 100


@pytest.fixture(scope='module')
def inferencer(trained_demo):
    from das_mmseg.apis import DASInferencer
    return DASInferencer(
        trained_demo['config'], trained_demo['checkpoint'], device='cpu')


@pytest.mark.slow
def test_test_py_demo_and_inferencer_predict_the_same(trained_demo, tested,
                                                      inferencer, tmp_path):
    demo = load_tool('demo/image_demo.py')
    for index in (0, 7):
        image = val_image(index)
        name = osp.splitext(osp.basename(image))[0]
        expected = read_label_png(tested['preds'] / f'{name}.png')
        out = tmp_path / f'{name}_painted.png'
        demo.main([
            image, trained_demo['config'], trained_demo['checkpoint'],
            '--device', 'cpu', '--out-file',
            str(out), '--out-pred',
            str(tmp_path / f'{name}_pred.png'), '--show-clip'
        ])
        assert np.array_equal(
            read_label_png(tmp_path / f'{name}_pred.png'), expected)
        assert mmcv.imread(str(out)).shape[:2] == expected.shape
        assert osp.isfile(tmp_path / f'{name}_painted_clip.png')
        result = inferencer(image, return_clip=True)
        assert np.array_equal(result['predictions'], expected)
        # the clip the model saw: 4 frames, the reference one the image
        assert result['clips'].shape == (4, 180, 240, 3)
        assert np.abs(result['clips'][2].astype(int) -
                      mmcv.imread(image)[..., ::-1]).max() <= 1


@pytest.mark.slow
def test_inferencer_takes_images_of_any_size(inferencer):
    image = mmcv.imread(val_image(3))
    odd = image[11:88, 17:148]  # 77 x 131, smaller than the 96 crop
    large = mmcv.imresize(image, (403, 301))  # larger than the images
    result = inferencer([odd, large], return_clip=True)
    assert [p.shape for p in result['predictions']] == [(77, 131), (301, 403)]
    # the test pipeline's resize (to fit 240x180) is what the model sees
    assert [c.shape[:3] for c in result['clips']] == [(4, 141, 240),
                                                      (4, 179, 240)]


# ---- the analysis tools on the trained demo --------------------------------


@pytest.mark.slow
def test_confusion_matrix_of_saved_predictions_gives_the_test_mIoU(
        trained_demo, tested, tmp_path):
    tool = load_tool('tools/analysis_tools/confusion_matrix.py')
    from das_mmseg.analysis.confusion import iou_per_class
    matrix = tool.main(
        [trained_demo['config'],
         str(tested['preds']),
         str(tmp_path)])
    assert matrix.shape == (11, 11) and osp.isfile(
        tmp_path / 'confusion_matrix.png')
    miou = 100 * np.nanmean(iou_per_class(matrix))
    assert abs(miou - tested['metrics']['mIoU']) < 0.01


@pytest.mark.slow
def test_visualize_clip_and_get_flops_use_the_checkpoint_policy(
        trained_demo, tmp_path):
    trained = Policy.load(trained_demo['policy'])
    tool = load_tool('tools/analysis_tools/visualize_clip.py')
    out = tmp_path / 'clip.png'
    described = tool.main([
        trained_demo['config'], trained_demo['checkpoint'], '--out',
        str(out)
    ])
    assert described == 'policy:\n' + trained.describe()
    montage = mmcv.imread(str(out))
    assert montage.shape[1] > 3 * montage.shape[0]  # 4 frames in a row
    flops = load_tool('tools/analysis_tools/get_flops.py').main([
        trained_demo['config'], '--checkpoint', trained_demo['checkpoint'],
        '--json'
    ])
    assert flops['clip_cell'] == 'its policy' and flops['frames'] == 4
    # 4 frames through backbone and head, plus the cell and GSF
    assert 4 < flops['ratio'] < 4.5


@pytest.mark.slow
def test_erf_tool_and_browse_dataset_run_on_the_demo(trained_demo, tmp_path):
    erf = load_tool('tools/analysis_tools/erf.py').main([
        trained_demo['config'], trained_demo['checkpoint'], '--images', '1',
        '--out',
        str(tmp_path / 'erf.png'), '--save-map',
        str(tmp_path / 'erf.npy'), '--json'
    ])
    fractions = erf['models'][0]['fractions']
    assert 0 < fractions['0.2'] < fractions['0.5'] < fractions['0.9'] <= 1
    assert erf['pixel'] == [90, 120]
    assert np.load(tmp_path / 'erf.npy').shape == (180, 240)
    assert osp.isfile(tmp_path / 'erf.png')
    count = load_tool('tools/analysis_tools/browse_dataset.py').main([
        trained_demo['config'], '--output-dir',
        str(tmp_path / 'browse'), '--not-show', '--show-clip', '--max-samples',
        '1', '--checkpoint', trained_demo['checkpoint']
    ])
    assert count == 1
    assert sorted(os.listdir(tmp_path / 'browse'))[1].endswith('_clip.png')
