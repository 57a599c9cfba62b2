# Old name, kept for one release. The config is now, named the mmseg way:
# das/pspnet_r50-d8_4xb1-80k_cityscapes-512x1024.py
_base_ = ['./das/pspnet_r50-d8_4xb1-80k_cityscapes-512x1024.py']
