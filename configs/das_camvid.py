# Old name, kept for one release. The config is now, named the mmseg way:
# das/das-pspnet_gsf-r18-d8-t8_1xb4-20k_camvid-360x480.py
_base_ = ['./das/das-pspnet_gsf-r18-d8-t8_1xb4-20k_camvid-360x480.py']
