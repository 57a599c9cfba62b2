# DAS on Tiny-ImageNet (200 classes, 64x64): GSF-ResNet-18 (mmpretrain's
# ImageNet ResNet-18, T = 8 frames per image from the searchable clip cell,
# logits averaged), from scratch. python tools/train.py CONFIG searches 50
# epochs on the 50/50 split of the 100000 training images, writes
# <work_dir>/das_policy.json, then retrains from a fresh initialisation on
# all of them for 200 epochs with the policy (sources: see
# ../../_base_/schedules/das_schedule_200e.py). Data:
# ../../_base_/datasets/tiny_imagenet.py (64x64, random crop with 8 px
# padding, flip). Image baseline: resnet18_1xb64-200e_tiny-imagenet.py.
_base_ = [
    '../../_base_/models/das_cls_gsf_r18.py',
    '../../_base_/datasets/tiny_imagenet.py',
    '../../_base_/schedules/das_schedule_200e.py',
    '../../_base_/search/das_first_order.py',
    '../../_base_/default_runtime_cls.py'
]
data_preprocessor = dict(type='ClipClsDataPreprocessor')
model = dict(head=dict(num_classes=200))
# the authors' search length (sotaDAS/cnn/train_search.py)
das_search = dict(search_epochs=50)
