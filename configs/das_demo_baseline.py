# Old name, kept for one release. The config is now, named the mmseg way:
# das/pspnet_r18tiny-d16_1xb4-300iter_camvid-sample-96x96.py
_base_ = ['./das/pspnet_r18tiny-d16_1xb4-300iter_camvid-sample-96x96.py']
