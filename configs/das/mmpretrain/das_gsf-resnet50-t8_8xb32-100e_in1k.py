# DAS on ImageNet-1k: GSF-ResNet-50 (mmpretrain's ResNet-50 classifier, T = 8
# frames per image, logits averaged), from scratch.
# tools/dist_train.sh CONFIG 8 searches 10 epochs on the 50/50 split of the
# training set, writes <work_dir>/das_policy.json, then retrains from a fresh
# initialisation on the whole set for 100 epochs with the policy
# (../../_base_/schedules/das_schedule_100e.py). mmpretrain's ImageNet data
# and batch (8 GPUs x 32); the paper's SGD (momentum 0.9, weight decay 3e-4,
# cosine) at lr 0.1 for 256 images (see the schedule).
# Image baseline: resnet50_8xb32-100e_in1k.py.
_base_ = [
    '../../_base_/models/das_cls_gsf_r50.py',
    '../../_base_/datasets/imagenet.py',
    '../../_base_/schedules/das_schedule_100e.py',
    '../../_base_/search/das_first_order.py',
    '../../_base_/default_runtime_cls.py'
]
data_preprocessor = dict(type='ClipClsDataPreprocessor')
# the paper's ImageNet search length is not public (it reports under
# one GPU day of search)
das_search = dict(search_epochs=10)
