"""Inference speed: images per second of a DAS model (clip cell, T frames
through the video backbone, fusion) against its image baseline, the way a
user runs them (``model.test_step`` on a batch from the test pipeline:
preprocessing, the model, resizing the logits back to the image).

The images are the bundled CamVid sample's val images, put through each
config's own test pipeline. The baseline is the image twin of the DAS model
(no cell, T = 1, no temporal modules) unless ``--baseline`` names a config.
Without a checkpoint the weights are random, which does not change the
work; a relaxed clip cell is given the policy its α derives (a trained model
renders a discrete policy; ``--relaxed`` times the mixture instead).
"""
import os
import os.path as osp

import torch

HELP = 'images/s of a DAS model vs its image baseline (test_step)'
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def add_arguments(parser) -> None:
    parser.add_argument(
        '--config',
        default=osp.join(
            ROOT, 'configs', 'das',
            'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py'
        ),
        help='the DAS config (default: the demo)')
    parser.add_argument('--checkpoint', help='its checkpoint')
    parser.add_argument(
        '--baseline', help='config of the baseline (default: the image twin)')
    parser.add_argument(
        '--baseline-checkpoint', help='checkpoint of --baseline')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='images per test_step')
    parser.add_argument(
        '--relaxed',
        action='store_true',
        help='time a relaxed clip cell as it is (the search-time mixture)')


def sample_images(count: int) -> list:
    """Paths of the first ``count`` val images of the bundled sample."""
    folder = osp.join(ROOT, 'data', 'camvid_sample', 'img_dir', 'val')
    names = sorted(os.listdir(folder))[:count]
    return [osp.join(folder, name) for name in names]


def run(args) -> list:
    import das_mmseg  # noqa: F401
    from das_mmseg.analysis.models import load_model_and_twin
    from das_mmseg.apis.inference import prepare_batch
    from das_mmseg.utils.benchmark import compare

    _, model, twin, origin = load_model_and_twin(
        args.config,
        checkpoint=args.checkpoint,
        baseline=args.baseline,
        baseline_checkpoint=args.baseline_checkpoint,
        device=str(args.device))
    if twin is None:
        raise ValueError(
            f'{args.config} is an image model: give a DAS config, or the '
            'image model as --baseline of one')
    cell = getattr(model, 'clip_cell', None)
    if cell is not None and cell.policy is None and not args.relaxed:
        cell.set_policy(cell.discretize())
    images = sample_images(args.batch_size)
    batches = {}
    for name, net in (('image baseline', twin), ('DAS', model)):
        batches[name] = prepare_batch(net, images)[0]

    def predict(net, data):

        def step():
            with torch.no_grad():
                net.test_step(data)

        return step

    result = compare(
        'inference: test_step, images/s of DAS vs its image baseline', {
            'image baseline': predict(twin, batches['image baseline']),
            f'DAS (T = {model.num_frames})': predict(model, batches['DAS'])
        },
        args.device,
        args.warmup,
        args.repeats,
        settings=dict(
            config=osp.relpath(args.config, ROOT),
            batch=args.batch_size,
            image=list(batches['DAS']['inputs'][0].shape[-2:]),
            baseline=origin))
    result.settings['images_per_s'] = {
        name: round(args.batch_size / seconds, 3)
        for name, seconds in result.seconds.items()
    }
    return [result]
