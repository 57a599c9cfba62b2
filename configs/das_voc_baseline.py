# Old name, kept for one release. The config is now, named the mmseg way:
# das/pspnet_r50-d8_4xb4-40k_voc12aug-380x380.py
_base_ = ['./das/pspnet_r50-d8_4xb4-40k_voc12aug-380x380.py']
