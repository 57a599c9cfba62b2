"""Registration: every das_mmseg component is registered under its class name
(short aliases listed here), exported from its package, and mmpretrain is
optional: without it ``import das_mmseg`` and segmentation work."""
import importlib
import subprocess
import sys
import textwrap

import mmengine.registry
import mmseg.registry
import pytest
from fixtures import ROOT

import das_mmseg

# (scope, name, class name) of the names that are not the class name
ALIASES = [
    ('mmseg', 'GSF', 'GateShiftFuse'),
    ('mmseg', 'TSM', 'TemporalShift'),
    ('mmpretrain', 'GSF', 'GateShiftFuse'),
    ('mmpretrain', 'TSM', 'TemporalShift'),
    # mmseg's variant holds the class name VideoMobileNetV2
    ('mmpretrain', 'VideoMobileNetV2', 'PretrainVideoMobileNetV2'),
    # mmengine's own name for its PretrainedInit, which ours replaces
    ('mmengine', 'Pretrained', 'PretrainedInit'),
]


def registries(package: str):
    module = importlib.import_module(f'{package}.registry')
    return [
        value for value in vars(module).values()
        if isinstance(value, mmengine.registry.Registry)
    ]


def das_entries():
    """(scope, registered name, class) of every das_mmseg class in mmengine's,
    mmseg's and mmpretrain's registries."""
    seen = {}
    for package in ('mmengine', 'mmseg', 'mmpretrain'):
        for registry in registries(package):
            seen[id(registry)] = registry
    for registry in seen.values():
        for name, cls in registry.module_dict.items():
            if getattr(cls, '__module__', '').startswith('das_mmseg.'):
                yield registry.scope, name, cls


def test_registry_names_are_class_names():
    entries = list(das_entries())
    assert len(entries) > 15
    aliases = {(scope, name): cls for scope, name, cls in ALIASES}
    wrong = [(scope, name, cls.__name__) for scope, name, cls in entries
             if aliases.get((scope, name), name) != cls.__name__]
    assert not wrong, f'registered under another name than the class: {wrong}'
    names = {(scope, name) for scope, name, _ in entries}
    for scope, alias, class_name in ALIASES:
        assert (scope, alias) in names, (scope, alias)
        # next to the class name (mmengine's 'Pretrained' is a replacement)
        assert scope == 'mmengine' or (scope, class_name) in names


def test_every_registered_class_is_exported_from_its_package():
    missing = []
    for _, _, cls in das_entries():
        package = cls.__module__.rsplit('.', 1)[0]
        exported = getattr(importlib.import_module(package), '__all__', [])
        if cls.__name__ not in exported:
            missing.append(f'{package}.{cls.__name__}')
    assert not missing, f'not in their package\'s __all__: {missing}'


def test_components_are_found_from_mmseg_and_mmpretrain_scopes():
    from mmpretrain import registry as mmpretrain
    from mmseg import registry as mmseg

    from das_mmseg.datasets import DatasetSplit
    from das_mmseg.engine import DASOptimWrapperConstructor
    from das_mmseg.engine.hooks import DASPolicyHook
    for registries in (mmseg, mmpretrain):
        assert registries.DATASETS.get('DatasetSplit') is DatasetSplit
        assert registries.HOOKS.get('DASPolicyHook') is DASPolicyHook
        assert registries.LOOPS.get('DASIterBasedTrainLoop').__name__ == (
            'DASIterBasedTrainLoop')
        assert registries.OPTIM_WRAPPER_CONSTRUCTORS.get(
            'DASOptimWrapperConstructor') is DASOptimWrapperConstructor


def test_mmpretrain_registration_helper():
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS

    from das_mmseg.registry import register_in_mmpretrain, register_under_names

    class Probe:
        pass

    try:
        assert register_in_mmpretrain(Probe, aliases=('ProbeAlias', ))
        assert register_in_mmpretrain(Probe)  # idempotent
        assert PRETRAIN_MODELS.get('ProbeAlias') is Probe
        other = type('Probe', (), {'__module__': 'elsewhere'})
        with pytest.raises(KeyError, match="'Probe' is already taken"):
            register_under_names(PRETRAIN_MODELS, other)
    finally:
        for name in ('Probe', 'ProbeAlias'):
            PRETRAIN_MODELS._module_dict.pop(name, None)


HIDE_MMPRETRAIN = '''
import sys


class RefuseMMPretrain:
    """An environment without mmpretrain installed."""

    def find_spec(self, name, path=None, target=None):
        if name == 'mmpretrain' or name.startswith('mmpretrain.'):
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
        return None


sys.meta_path.insert(0, RefuseMMPretrain())
'''

WITHOUT_MMPRETRAIN = '''
import sys

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import das_mmseg
from das_mmseg.launch import adapt_to_cpu

assert 'mmpretrain' not in sys.modules
assert not das_mmseg.registry.mmpretrain_available()
assert 'ClipImageClassifier' not in das_mmseg.models.__all__
cfg = Config.fromfile(sys.argv[1])
adapt_to_cpu(cfg)
cfg.model.data_preprocessor.size = (32, 32)
init_default_scope('mmseg')
model = MODELS.build(cfg.model)
model.init_weights()
inputs = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)]
data = model.data_preprocessor(dict(inputs=inputs), False)
logits = model(data['inputs'], mode='tensor')
assert logits.shape[:2] == (1, 11), logits.shape
assert 'mmpretrain' not in sys.modules
print('segmentation without mmpretrain: ok')
'''


@pytest.mark.slow
def test_segmentation_works_without_mmpretrain(tmp_path):
    (tmp_path / 'hide').mkdir()
    (tmp_path / 'hide' / 'sitecustomize.py').write_text(HIDE_MMPRETRAIN)
    script = tmp_path / 'without_mmpretrain.py'
    script.write_text(textwrap.dedent(WITHOUT_MMPRETRAIN))
    config = f'{ROOT}/configs/_base_/models/das_pspnet_gsf_r18_tiny.py'
    env = dict(
        __import__('os').environ,
        PYTHONPATH=f'{tmp_path / "hide"}:{ROOT}',
        OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(script), config],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'segmentation without mmpretrain: ok' in proc.stdout


def test_version_is_exported():
    assert das_mmseg.__version__ and '__version__' in das_mmseg.__all__
    assert mmseg.registry.MODELS.get('ClipEncoderDecoder') is not None
