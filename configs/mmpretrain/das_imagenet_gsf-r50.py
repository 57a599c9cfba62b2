# Old name, kept for one release. The config is now, named the mmseg way:
# das/mmpretrain/das_gsf-resnet50-t8_8xb32-100e_in1k.py
_base_ = ['../das/mmpretrain/das_gsf-resnet50-t8_8xb32-100e_in1k.py']
