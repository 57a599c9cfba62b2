# PASCAL VOC 2012 with the SBD augmented set ("VOC aug", 10582 training
# images), mmseg's own dataset config with the paper's 380x380 crop. Layout
# (README, "Datasets"): data/VOCdevkit/VOC2012/{JPEGImages, SegmentationClass,
# SegmentationClassAug, ImageSets/Segmentation/{train,val,aug}.txt};
# SegmentationClassAug and aug.txt come from mmseg's converter: python
# tools/dataset_converters/voc_aug.py data/VOCdevkit data/VOCdevkit/VOCaug
# --nproc 8
_base_ = ['mmseg::_base_/datasets/pascal_voc12_aug.py']
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (380, 380)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file='ImageSets/Segmentation/train.txt',
                data_prefix=dict(
                    img_path='JPEGImages', seg_map_path='SegmentationClass'),
                pipeline=train_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file='ImageSets/Segmentation/aug.txt',
                data_prefix=dict(
                    img_path='JPEGImages',
                    seg_map_path='SegmentationClassAug'),
                pipeline=train_pipeline),
        ]))
