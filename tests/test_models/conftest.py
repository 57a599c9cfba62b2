"""Fixtures of the model tests: `batch`, two real CamVid images
(test_clip_segmentor, test_dtype_device; test_clip_classifier has its own)."""
import pytest
from fixtures import camvid_val_pair


@pytest.fixture(scope='module')
def batch():
    """Two real CamVid validation images with labels, resized to 64x80 and
    packed (uint8, BGR)."""
    return camvid_val_pair()
