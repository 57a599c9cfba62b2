# Cityscapes, mmseg's own dataset config (512x1024 crops of the 1024x2048
# frames, 19 classes). Layout (README, "Datasets"):
# data/cityscapes/leftImg8bit/{train,val}/<city>/*_leftImg8bit.png and
# data/cityscapes/gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png, the
# label maps written by mmseg's converter:
# python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8
_base_ = ['mmseg::_base_/datasets/cityscapes.py']
