"""Importing das_mmseg changes no global behaviour (issue 18.2): mmengine's
checkpoint loaders, file backends and weight initializers, and torch's safe
globals, are the ones they were before; ``das_mmseg.safe_io``, which the
shipped configs name in ``custom_imports``, is what switches the safe I/O
on."""
import json
import subprocess
import sys

from fixtures import ROOT

# torch registers a safe global of its own when torch._dynamo is first
# imported (which das_mmseg's imports do): import it before the first look
PROBE = '''
import json
import torch._dynamo  # noqa: F401
import torch.serialization
from mmengine.fileio.backends import registry_utils
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import CheckpointLoader


def state():
    return dict(
        loader=repr(CheckpointLoader._schemes.get('')),
        backend=repr(registry_utils.backends.get('local')),
        prefix=repr(registry_utils.prefix_to_backends.get('')),
        pretrained=repr(WEIGHT_INITIALIZERS.get('Pretrained')),
        safe_globals=sorted(map(repr, torch.serialization.get_safe_globals())))


before = state()
import das_mmseg  # noqa: E402
registered = das_mmseg.__name__
after_import = state()
{switch}
switched = state()
print(json.dumps(dict(before=before, after_import=after_import,
                      switched=switched)))
'''


def probe(switch: str) -> dict:
    proc = subprocess.run([sys.executable, '-c',
                           PROBE.format(switch=switch)],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_das_mmseg_changes_nothing_and_the_configs_choose_safe_io():
    """One fresh process: the state before, after ``import das_mmseg``, and
    after reading a shipped config (its ``custom_imports`` name
    ``das_mmseg.safe_io``)."""
    states = probe(
        'from mmengine.config import Config; '
        "Config.fromfile('configs/das/das-pspnet_gsf-r18tiny-d16-t4_1xb4-"
        "300iter_camvid-sample-96x96.py')")
    assert states['after_import'] == states['before']
    changed = {
        key
        for key in states['before']
        if states['switched'][key] != states['before'][key]
    }
    assert changed == {
        'loader', 'backend', 'prefix', 'pretrained', 'safe_globals'
    }, changed
    assert 'load_from_local' in states['switched']['loader']
    assert 'AtomicLocalBackend' in states['switched']['backend']
    assert 'das_mmseg' in states['switched']['pretrained']
