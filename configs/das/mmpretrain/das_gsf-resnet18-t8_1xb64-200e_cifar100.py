# DAS on CIFAR-100: GSF-ResNet-18 for 32x32 images (mmpretrain's
# ResNet_CIFAR, T = 8 frames per image from the searchable clip cell, logits
# averaged over the frames), from scratch. python tools/train.py CONFIG
# searches 50 epochs on the 50/50 split of the 50000 training images, writes
# <work_dir>/das_policy.json, then retrains from a fresh initialisation on all
# of them for 200 epochs with the policy (see
# ../../_base_/schedules/das_schedule_200e.py for the sources: the paper's
# SGD, the authors' batch 64 on one GPU, cosine floor, gradient clipping and
# search length). mmpretrain's CIFAR-100 data (random crop with 4 px
# padding, flip). Image baseline: resnet18_1xb64-200e_cifar100.py.
_base_ = [
    '../../_base_/models/das_cls_gsf_r18_cifar.py',
    '../../_base_/datasets/cifar100.py',
    '../../_base_/schedules/das_schedule_200e.py',
    '../../_base_/search/das_first_order.py',
    '../../_base_/default_runtime_cls.py'
]
data_preprocessor = dict(type='ClipClsDataPreprocessor')
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader
model = dict(head=dict(num_classes=100))
# the authors' search length (sotaDAS/cnn/train_search.py)
das_search = dict(search_epochs=50)
