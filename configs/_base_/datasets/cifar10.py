# CIFAR-10 as mmpretrain ships it (32x32, random crop with 4 px padding, flip;
# top-1 accuracy), with no download attempt: put the python version of the
# batches in data/cifar10/cifar-10-batches-py/ (README, "Datasets").
_base_ = ['mmpretrain::_base_/datasets/cifar10_bs16.py']
train_dataloader = dict(dataset=dict(download=False))
val_dataloader = dict(dataset=dict(download=False))
test_dataloader = val_dataloader
