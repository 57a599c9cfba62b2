# CIFAR-100 as mmpretrain ships it, with no download attempt:
# data/cifar100/cifar-100-python/ (README, "Datasets").
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']
train_dataloader = dict(dataset=dict(download=False))
val_dataloader = dict(dataset=dict(download=False))
test_dataloader = val_dataloader
