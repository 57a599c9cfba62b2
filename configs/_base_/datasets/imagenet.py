# ImageNet-1k as mmpretrain ships it (224 random-resized crops; top-1/top-5).
# Layout (README, "Datasets"): data/imagenet/{train,val}/<wnid>/*.JPEG, or
# val/*.JPEG with data/imagenet/meta/val.txt ("name label" lines).
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py']
