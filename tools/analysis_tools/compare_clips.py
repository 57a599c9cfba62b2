"""Render the clips of several policies through one config's clip cell and
compare them value for value.

    python tools/analysis_tools/compare_clips.py CONFIG POLICY [POLICY ...]
        [--images IMG ...] [--out RESULT.json] [--cfg-options k=v ...]

Two policies that are the same clip in exact arithmetic can still render
different floats (a derived graph that routes identity edges through
intermediate nodes sums and normalises in another order), and training is
sensitive enough to such differences to end elsewhere. This tool says whether
two policies give the backbone bit-identical input: each image (default: the
first two test images) goes through the config's test pipeline, data
preprocessor and clip cell, exactly as the model sees it, once per policy.
The first policy is the reference; for every other one it prints whether its
clips are bit-equal to the reference's and, if not, the largest absolute
difference (in the preprocessor's normalised units) and how many values
differ. ``--out`` writes the same as JSON.
"""
import json
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import das_mmseg  # noqa: E402,F401
from das_mmseg.utils.cli import config_tool_parser  # noqa: E402


def parse_args(argv=None):
    parser = config_tool_parser(__doc__, 'config file of the clip model')
    parser.add_argument(
        'policies',
        nargs='+',
        help='policy JSON files; the first is the '
        'reference')
    parser.add_argument(
        '--images',
        nargs='+',
        help='image files (default: the first two '
        'test images)')
    parser.add_argument('--out', help='write the comparison as JSON')
    return parser.parse_args(argv)


def compare(reference, clip) -> dict:
    """How ``clip`` differs from ``reference`` (both ``(N, T, C, H, W)``)."""
    import torch
    differ = reference != clip
    return dict(
        bit_equal=bool(torch.equal(reference, clip)),
        max_abs_difference=float((reference - clip).abs().max()),
        values_differing=int(differ.sum()),
        values=reference.numel())


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    from das_mmseg.analysis.models import build_model, test_image_paths
    from das_mmseg.apis.inference import prepare_batch
    from das_mmseg.launch import load_config
    cfg = load_config(args.config, args.cfg_options)
    model = build_model(cfg, device='cpu')
    model.cfg = cfg
    cell = getattr(model, 'clip_cell', None)
    if cell is None:
        raise ValueError(f'{args.config} builds no clip cell; the policies '
                         'are rendered by a model with clip_cell=dict(...)')
    images = args.images or test_image_paths(cfg, 2)
    for image in images:
        if not osp.isfile(image):
            raise FileNotFoundError(f'image file "{image}" does not exist')
    data, _ = prepare_batch(model, images)
    with torch.no_grad():
        inputs = model.data_preprocessor(data, False)['inputs']
        clips = []
        for policy in args.policies:
            try:
                cell.set_policy(policy)
            except ValueError as e:
                raise ValueError(f'the policy {policy} does not fit the clip '
                                 f'cell of {args.config}: {e}') from None
            clips.append(cell(inputs))
    result = dict(
        config=args.config,
        images=images,
        reference=args.policies[0],
        policies=[
            dict(policy=policy, **compare(clips[0], clip))
            for policy, clip in zip(args.policies[1:], clips[1:])
        ])
    for row in result['policies']:
        print(f'{row["policy"]}: ' +
              ('bit-equal to the reference' if row['bit_equal'] else
               f'differs from the reference by at most '
               f'{row["max_abs_difference"]:.3g} in {row["values_differing"]}'
               f' of {row["values"]} values'))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
