# DAS on PASCAL VOC 2012 + SBD (the paper's segmentation setting): PSPNet on a
# GSF-ResNet-50, T = 8 frames per image from the searchable clip cell,
# per-frame logits averaged. One command searches the policy on a 50/50 split
# of the training set (first 10k iterations), writes
# work_dirs/das_voc/das_policy.json, and trains on with the derived policy.
# Paper: SGD lr 0.02, backbone lr x 0.1, weight decay 1e-4, momentum 0.9, poly;
# batch 4, crop 380 (both kept here, batch per GPU); the GPU count and the
# length are not public: mmseg's VOC schedule (40k iterations, 4 GPUs) is used.
# Image baseline: configs/das_voc_baseline.py.
#   tools/dist_train.sh configs/das_voc.py 4
_base_ = [
    './_base_/models/das_pspnet_gsf_r50.py', './_base_/datasets/voc12_aug.py',
    './_base_/default_runtime.py', './_base_/schedules/das_seg_poly_40k.py',
    './_base_/schedules/das_search.py'
]
crop_size = (380, 380)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
train_dataloader = dict(batch_size=4)
