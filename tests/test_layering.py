"""The package's layers: each subpackage imports only from the layers below
it (and from itself), so ``utils`` is a leaf and nothing low reaches up."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'das_mmseg'
# lowest first; a layer may import from the ones before it
LAYERS = (
    {'utils', 'version'},
    {'augment'},
    {'registry'},
    {'datasets', 'models', 'visualization'},
    {'engine'},
    {'launch', 'safe_io'},
    {'apis'},
    {'analysis'},
)


def layer_of(name: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if name in layer:
            return rank
    raise AssertionError(f'das_mmseg.{name} is in no layer; add it to LAYERS')


def imported_subpackages(source: str, module: tuple):
    """(line, subpackage) of every import of das_mmseg in ``source``, the
    text of module ``module`` (its dotted path as a tuple, ``__init__``
    included: relative imports count from the folder holding the file)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            target = list(module[:len(module) - node.level]) if node.level \
                else []
            target += node.module.split('.') if node.module else []
            if target[:1] != ['das_mmseg']:
                continue
            for name in target[1:2] or [alias.name for alias in node.names]:
                yield node.lineno, name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name.split('.')
                if target[0] == 'das_mmseg' and len(target) > 1:
                    yield node.lineno, target[1]


def upward_imports(path: pathlib.Path) -> list:
    module = path.relative_to(PACKAGE.parent).with_suffix('').parts
    own = module[1]
    rank = layer_of(own)
    return [
        f'line {line}: das_mmseg.{name}'
        for line, name in imported_subpackages(path.read_text(), module)
        if name != own and layer_of(name) >= rank
    ]


MODULES = sorted(
    p for p in PACKAGE.rglob('*.py')
    if p.relative_to(PACKAGE).parts[0] != '__init__.py')


@pytest.mark.parametrize(
    'path', MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_from_lower_layers(path):
    assert not upward_imports(path)


def test_the_layer_check_sees_upward_imports(tmp_path):
    folder = tmp_path / 'das_mmseg' / 'utils'
    folder.mkdir(parents=True)
    module = folder / 'bad.py'
    module.write_text('from ..launch import prepare_run\n'
                      'import das_mmseg.apis.test\n'
                      'from . import io\n')
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / 'das_mmseg'
    try:
        assert upward_imports(module) == [
            'line 1: das_mmseg.launch', 'line 2: das_mmseg.apis'
        ]
    finally:
        PACKAGE = saved
