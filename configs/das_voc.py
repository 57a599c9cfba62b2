# Old name, kept for one release. The config is now, named the mmseg way:
# das/das-pspnet_gsf-r50-d8-t8_4xb4-40k_voc12aug-380x380.py
_base_ = ['./das/das-pspnet_gsf-r50-d8-t8_4xb4-40k_voc12aug-380x380.py']
