"""Segment one image with a (DAS) segmentor and draw the prediction, as
mmseg's ``demo/image_demo.py``; ``--show-clip`` also draws the clip the model
saw.

    python demo/image_demo.py IMG CONFIG CHECKPOINT [--out-file OUT.png]
        [--device cpu|cuda:0] [--opacity 0.5] [--title result]
        [--with-labels] [--show-clip] [--out-pred PRED.png]

Without ``--out-file`` the picture is shown in a window. With
``--show-clip`` the clip's frames are drawn too, left to right with the
reference frame (the image) framed white, into ``<OUT stem>_clip.png`` (or
a window). ``--out-pred`` writes the predicted class ids as a PNG (as
``tools/test.py --out`` does).

The image is checked before anything runs (``LoadCheckedImage``): an
unreadable, empty, cut or damaged file is named, and one whose header
declares more than ``$DAS_MMSEG_MAX_IMAGE_PIXELS`` pixels (default 2^27) is
refused before it is decoded. Images under 64 pixels are drawn enlarged.
"""
import os.path as osp
import sys
import warnings
from argparse import ArgumentParser

# setuptools' deprecation notice for pkg_resources, printed by the OpenMMLab
# packages when they are imported, says nothing about this run
warnings.filterwarnings(
    'ignore', message='pkg_resources is deprecated', category=UserWarning)

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmcv  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.apis import show_result_pyplot  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

import das_mmseg  # noqa: E402,F401
import das_mmseg.safe_io  # noqa: E402,F401  (safe checkpoint I/O)
from das_mmseg import apis  # noqa: E402
from das_mmseg.datasets.loading import load_checked_image  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('img', help='Image file')
    parser.add_argument('config', help='Config file')
    parser.add_argument('checkpoint', help='Checkpoint file')
    parser.add_argument('--out-file', default=None, help='Path to output file')
    parser.add_argument(
        '--device',
        default=apis.inference.default_device(),
        help='Device used for inference (default: cuda:0 if available, '
        'else cpu)')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='Opacity of painted segmentation map. In (0, 1] range.')
    parser.add_argument(
        '--with-labels',
        action='store_true',
        default=False,
        help='Whether to display the class labels.')
    parser.add_argument(
        '--title', default='result', help='The image identifier.')
    parser.add_argument(
        '--show-clip',
        action='store_true',
        help='also draw the clip the model saw (clip models)')
    parser.add_argument(
        '--out-pred', help='write the predicted class ids as a PNG')
    return parser.parse_args(argv)


#: images with a shorter side are drawn enlarged (nearest neighbour): mmseg's
#: visualizer fails on a 1x1 prediction, and a few pixels show nothing
MIN_DRAWN_SIDE = 64


def drawable(img: np.ndarray, result: SegDataSample):
    """The image and a result holding only its prediction, enlarged by a
    whole factor (nearest neighbour) when the image's shorter side is below
    :data:`MIN_DRAWN_SIDE`; unchanged otherwise.

    Args:
        img (np.ndarray): BGR image ``(H, W, 3)``.
        result (SegDataSample): Its result, ``pred_sem_seg`` ``(1, H, W)``.
    """
    short = min(img.shape[:2])
    if short >= MIN_DRAWN_SIDE:
        return img, result
    factor = -(-MIN_DRAWN_SIDE // short)
    pred = result.pred_sem_seg.data
    enlarged = SegDataSample(metainfo=result.metainfo)
    enlarged.pred_sem_seg = PixelData(
        data=pred.repeat_interleave(factor, 1).repeat_interleave(factor, 2))
    return img.repeat(factor, 0).repeat(factor, 1), enlarged


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.img):
        raise FileNotFoundError(f'image file "{args.img}" does not exist')
    model = apis.init_model(args.config, args.checkpoint, device=args.device)
    result = apis.inference_model(model, args.img)
    img, drawn = drawable(load_checked_image(args.img), result)
    show_result_pyplot(
        model,
        img,
        drawn,
        title=args.title,
        opacity=args.opacity,
        with_labels=args.with_labels,
        draw_gt=False,
        show=args.out_file is None,
        out_file=args.out_file)
    if args.out_pred:
        mmcv.imwrite(result.pred_sem_seg.data[0].cpu().numpy().astype('uint8'),
                     args.out_pred)
    if args.show_clip:
        from das_mmseg.visualization import draw_clip
        frames = apis.inference_clip(model, args.img)
        ref_frame, titles = apis.clip_titles(model, frames.shape[1:3])
        montage = draw_clip(frames, ref_frame, titles)
        if args.out_file is None:
            import matplotlib.pyplot as plt
            plt.imshow(montage)
            plt.axis('off')
            plt.show()
        else:
            stem, _ = osp.splitext(args.out_file)
            mmcv.imwrite(montage[..., ::-1], stem + '_clip.png')
    return result


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
