"""``init_cfg=dict(type='Pretrained')`` as das_mmseg installs it: real
checkpoint files load (a 2-D ResNetV1c into the GSF backbone, a classifier's
backbone with ``prefix='backbone.'``), a checkpoint that fits nothing is an
error, and a remote checkpoint without network access names itself and the
way to pass a local file."""
import socket

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.runner import save_checkpoint

import das_mmseg  # noqa: F401
from das_mmseg.engine.checkpoint.pretrained import (PretrainedWeightsError,
                                                    checkpoint_url)

TINY_RESNET = dict(depth=18, stem_channels=16, base_channels=16)


def seg_backbone(**kwargs):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    return MODELS.build(dict(TINY_RESNET, **kwargs))


def test_2d_resnet_checkpoint_loads_into_the_gsf_backbone(tmp_path):
    source = seg_backbone(type='ResNetV1c')
    path = str(tmp_path / 'resnet18_v1c.pth')
    torch.save(source.state_dict(), path)
    target = seg_backbone(
        type='VideoResNetV1c',
        num_segments=4,
        init_cfg=dict(type='Pretrained', checkpoint=path))
    target.init_weights()
    own = target.state_dict()
    for key, value in source.state_dict().items():
        assert torch.equal(own[key], value), key
    assert any('.temporal.' in key for key in own)  # GSF: new, not loaded


def classifier_checkpoint(tmp_path):
    """A real mmengine checkpoint of mmpretrain's ResNet-18 classifier."""
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    classifier = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='ResNet', depth=18, base_channels=16),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=128)))
    path = str(tmp_path / 'classifier.pth')
    save_checkpoint({'state_dict': classifier.state_dict()}, path)
    return classifier, path


def cls_backbone(**init):
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(
        dict(
            type='VideoResNet',
            depth=18,
            base_channels=16,
            num_segments=4,
            init_cfg=dict(type='Pretrained', **init)))


def test_classifier_backbone_loads_with_the_prefix_hint(tmp_path):
    classifier, path = classifier_checkpoint(tmp_path)
    backbone = cls_backbone(checkpoint=path, prefix='backbone.')
    backbone.init_weights()
    own = backbone.state_dict()
    for key, value in classifier.backbone.state_dict().items():
        assert torch.equal(own[key], value), key


def test_checkpoint_matching_nothing_is_an_error(tmp_path):
    _, path = classifier_checkpoint(tmp_path)
    backbone = cls_backbone(checkpoint=path)  # the prefix forgotten
    with pytest.raises(PretrainedWeightsError) as error:
        backbone.init_weights()
    message = str(error.value)
    assert (path in message and 'match no parameter' in message
            and "prefix='backbone.'" in message)

    with pytest.raises(PretrainedWeightsError, match="prefix='neck.'"):
        cls_backbone(checkpoint=path, prefix='neck.').init_weights()


def test_remote_checkpoint_offline_says_how_to_pass_a_file(
        tmp_path, monkeypatch):

    def unreachable(*args, **kwargs):
        raise OSError(101, 'Network is unreachable')

    monkeypatch.setattr(socket.socket, 'connect', unreachable)
    monkeypatch.setattr(socket, 'getaddrinfo', unreachable)
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    name = 'open-mmlab://resnet50_v1c'
    url = checkpoint_url(name)
    assert url.startswith('https://') and url.endswith('.pth')
    backbone = seg_backbone(
        type='VideoResNetV1c',
        num_segments=2,
        init_cfg=dict(type='Pretrained', checkpoint=name))
    with pytest.raises(PretrainedWeightsError) as error:
        backbone.init_weights()
    message = str(error.value)
    file_name = url.rsplit('/', 1)[1]
    assert name in message and url in message
    assert ('--cfg-options model.backbone.init_cfg.checkpoint=/path/to/'
            f'{file_name}') in message
    assert str(tmp_path / 'hub' / 'checkpoints' / file_name) in message
