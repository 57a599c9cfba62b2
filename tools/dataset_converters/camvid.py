"""Convert the SegNet release of CamVid into mmseg's layout for
:class:`das_mmseg.datasets.CamVidDataset`.

Input (the SegNet tutorial's ``CamVid/`` folder, or any folder with the same
split layout)::

    SRC/{train,val,test}/img/*.(png|jpg)
    SRC/{train,val,test}/ann/*.png

or::

    SRC/{train,val,test}/*.png
    SRC/{train,val,test}annot/*.png

Output::

    OUT/img_dir/{split}/NAME.jpg
    OUT/ann_dir/{split}/NAME.png
        (class ids 0..10; the void id 11 becomes 255, mmseg's ignore index)

Example (the bundled sample in ``data/camvid_sample`` was made with)::

    python tools/dataset_converters/camvid.py \\
        ../shared/data/camvid data/camvid_sample \\
        --scale 0.5 --max-per-split train=48 val=16
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

VOID_ID = 11
IGNORE_INDEX = 255


def find_pairs(src: str, split: str) -> List[Tuple[str, str]]:
    """(image, annotation) paths of one split, matched by file stem, sorted by
    name."""
    layouts = [(osp.join(src, split, 'img'), osp.join(src, split, 'ann')),
               (osp.join(src, split), osp.join(src, split + 'annot'))]
    for img_dir, ann_dir in layouts:
        if osp.isdir(img_dir) and osp.isdir(ann_dir):
            anns = {
                osp.splitext(f)[0]: osp.join(ann_dir, f)
                for f in os.listdir(ann_dir) if f.endswith('.png')
            }
            pairs = [(osp.join(img_dir, f), anns[osp.splitext(f)[0]])
                     for f in sorted(os.listdir(img_dir))
                     if osp.splitext(f)[0] in anns]
            if pairs:
                return pairs
    raise FileNotFoundError(
        f'no CamVid split "{split}" under "{src}": expected '
        f'{src}/{split}/img + {src}/{split}/ann, or {src}/{split} + '
        f'{src}/{split}annot (see README.md, "Datasets")')


def convert_pair(img_path: str, ann_path: str, out_img: str, out_ann: str,
                 scale: float) -> None:
    img = cv2.imread(img_path, cv2.IMREAD_COLOR)
    ann = cv2.imread(ann_path, cv2.IMREAD_UNCHANGED)
    if img is None or ann is None:
        raise OSError(f'cannot read "{img_path}" or "{ann_path}"')
    if ann.ndim != 2:
        raise ValueError(
            f'"{ann_path}" has shape {ann.shape}; expected a single-channel '
            'class-id PNG')
    if ann.max() > VOID_ID:
        raise ValueError(
            f'"{ann_path}" holds class id {ann.max()}; CamVid ids are '
            f'0..{VOID_ID}')
    if scale != 1:
        h, w = ann.shape
        size = (round(w * scale), round(h * scale))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        # labels: never interpolate
        ann = cv2.resize(ann, size, interpolation=cv2.INTER_NEAREST)
    ann = np.where(ann == VOID_ID, IGNORE_INDEX, ann).astype(np.uint8)
    cv2.imwrite(out_img, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(out_ann, ann)


def parse_limits(items: List[str]) -> Dict[str, int]:
    limits = {}
    for item in items:
        split, _, n = item.partition('=')
        if not n.isdigit():
            raise argparse.ArgumentTypeError(
                f'--max-per-split expects SPLIT=N, got "{item}"')
        limits[split] = int(n)
    return limits


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='CamVid folder of the SegNet release')
    parser.add_argument('out', help='output data_root')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument(
        '--scale',
        type=float,
        default=1.0,
        help='resize factor (labels use nearest)')
    parser.add_argument(
        '--max-per-split',
        nargs='*',
        default=[],
        metavar='SPLIT=N',
        help='keep N images of a split, evenly spaced over the sorted list')
    args = parser.parse_args()
    limits = parse_limits(args.max_per_split)
    for split in args.splits:
        pairs = find_pairs(args.src, split)
        if split in limits and limits[split] < len(pairs):
            keep = np.linspace(0,
                               len(pairs) - 1,
                               limits[split]).round().astype(int)
            pairs = [pairs[i] for i in keep]
        os.makedirs(osp.join(args.out, 'img_dir', split), exist_ok=True)
        os.makedirs(osp.join(args.out, 'ann_dir', split), exist_ok=True)
        for img_path, ann_path in pairs:
            stem = osp.splitext(osp.basename(img_path))[0]
            convert_pair(img_path, ann_path,
                         osp.join(args.out, 'img_dir', split, stem + '.jpg'),
                         osp.join(args.out, 'ann_dir', split, stem + '.png'),
                         args.scale)
        print(f'{split}: {len(pairs)} pairs -> {args.out}')


if __name__ == '__main__':
    main()
