# Old name, kept for one release. The config is now, named the mmseg way:
# das/das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py
_base_ = [
    './das/das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py'
]
