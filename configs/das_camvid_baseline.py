# Old name, kept for one release. The config is now, named the mmseg way:
# das/pspnet_r18-d8_1xb4-20k_camvid-360x480.py
_base_ = ['./das/pspnet_r18-d8_1xb4-20k_camvid-360x480.py']
