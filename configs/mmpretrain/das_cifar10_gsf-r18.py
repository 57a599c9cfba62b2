# Old name, kept for one release. The config is now, named the mmseg way:
# das/mmpretrain/das_gsf-resnet18-t8_1xb64-200e_cifar10.py
_base_ = ['../das/mmpretrain/das_gsf-resnet18-t8_1xb64-200e_cifar10.py']
