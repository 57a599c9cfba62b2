# Old name, kept for one release. The config is now, named the mmseg way:
# das/das-pspnet_gsf-r50-d8-t8_4xb1-80k_cityscapes-512x1024.py
_base_ = ['./das/das-pspnet_gsf-r50-d8-t8_4xb1-80k_cityscapes-512x1024.py']
