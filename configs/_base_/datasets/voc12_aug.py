# PASCAL VOC 2012 with the SBD augmented set ("VOC aug", 10582 training
# images): mmseg's pascal_voc12_aug.py with the authors' training crop and
# scale range (github.com/casarinsof/TRAS, exp_scripts/config.json:
# "crop_size": 380, "base_size": 400, "scale": true; base/base_dataset.py
# resizes the long side to base_size x U(0.5, 2.0), i.e. 200-800 px, then
# crops 380x380). Kept from mmseg rather than the authors' loader, which the
# paper does not describe: PhotoMetricDistortion and cat_max_ratio (the
# authors' loader instead rotates by up to 10 degrees and blurs), padding of
# the labels with the ignore index (the authors pad with 0, background), and
# whole-image evaluation at mmseg's 2048x512 scale (the authors' val crops a
# 480 centre). Layout (README, "Datasets"):
# data/VOCdevkit/VOC2012/{JPEGImages, SegmentationClass, SegmentationClassAug,
# ImageSets/Segmentation/{train,val,aug}.txt}; SegmentationClassAug and
# aug.txt come from mmseg's converter: python
# tools/dataset_converters/voc_aug.py data/VOCdevkit data/VOCdevkit/VOCaug
# --nproc 8
_base_ = ['mmseg::_base_/datasets/pascal_voc12_aug.py']
crop_size = (380, 380)
# stops at a label outside [0, 21) other than 255, naming the file
label_guard = dict(type='CheckSegLabels', num_classes=21, ignore_index=255)
# LoadCheckedImage: mmcv's LoadImageFromFile (the same pixels) that names a bad
# file before any transform (das_mmseg.datasets.loading)
train_pipeline = [
    dict(type='LoadCheckedImage'),
    dict(type='LoadAnnotations'),
    label_guard,
    dict(
        type='RandomResize',
        scale=(400, 400),  # long side 400 x ratio
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    label_guard,
    dict(type='PackSegInputs'),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]  # mmseg's
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [label_guard],
            [dict(type='PackSegInputs')]
        ])
]
# mmseg's train + aug lists again: a child's list replaces its base's whole
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            data_prefix=dict(img_path='JPEGImages', seg_map_path=seg_map_path),
            ann_file=f'ImageSets/Segmentation/{split}.txt',
            pipeline=train_pipeline)
        for split, seg_map_path in (('train', 'SegmentationClass'),
                                    ('aug', 'SegmentationClassAug'))
    ]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
