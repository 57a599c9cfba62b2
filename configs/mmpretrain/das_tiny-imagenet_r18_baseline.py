# Old name, kept for one release. The config is now, named the mmseg way:
# das/mmpretrain/resnet18_1xb64-200e_tiny-imagenet.py
_base_ = ['../das/mmpretrain/resnet18_1xb64-200e_tiny-imagenet.py']
