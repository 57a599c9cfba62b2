"""Checks of image files: complete decoding with the decoder's warnings
watched, and the end marker a file cut short lacks."""
import contextlib
import os
import sys
import tempfile
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np

from .problems import FileProblem

# libjpeg and libpng report damaged data on stderr and still return pixels
DECODER_DAMAGE = ('Corrupt JPEG data', 'Premature end of JPEG file',
                  'incomplete', 'CRC error', 'Invalid')
JPEG_MAGIC, JPEG_END = b'\xff\xd8', b'\xff\xd9'
PNG_MAGIC, PNG_END = b'\x89PNG', b'IEND'
# encoders may pad a file after its end marker; a cut file has no marker here
END_MARKER_WINDOW = 1024


def missing_end_marker(data: bytes) -> Optional[str]:
    """Name the end marker a JPEG or PNG file lacks, or None.

    A file cut short (an interrupted copy or download) lacks the marker its
    format ends with; some decoders return the decoded part and fill the rest
    with grey without an error.

    Args:
        data (bytes): The whole file, or at least its first 8 and last
            ``END_MARKER_WINDOW`` bytes.

    Returns:
        str | None: e.g. ``'JPEG end marker FFD9'``; None when the file has
        its marker or is of another format.
    """
    tail = data[-END_MARKER_WINDOW:]
    if data.startswith(JPEG_MAGIC) and JPEG_END not in tail:
        return 'JPEG end marker FFD9'
    if data.startswith(PNG_MAGIC) and PNG_END not in tail:
        return 'PNG end chunk IEND'
    return None


def file_head_and_tail(path: str) -> Optional[bytes]:
    """The first 8 and the last ``END_MARKER_WINDOW`` bytes of a local file
    (None if it is not a local file): enough for
    :func:`missing_end_marker` without reading the file again."""
    try:
        with open(path, 'rb') as f:
            head = f.read(8)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(8, size - END_MARKER_WINDOW))
            return head + f.read()
    except OSError:
        return None


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[List[str]]:
    """Collect what native libraries (libjpeg, libpng, OpenCV) write to file
    descriptor 2 while the block runs; the text is in the yielded list after
    the block.

    Decoders report damaged data there and still return an image; this is the
    only way to see it. Python's own ``sys.stderr`` is flushed first so
    nothing of it is captured.
    """
    sys.stderr.flush()
    captured: List[str] = []
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode(errors='replace'))


def decode_image_strict(
        data: bytes,
        path: str) -> Tuple[Optional[np.ndarray], List[FileProblem]]:
    """Decode an image completely, as ``LoadImageFromFile`` (OpenCV) does, and
    report what a lenient decode hides.

    Args:
        data (bytes): The file's content.
        path (str): The file, for the report.

    Returns:
        tuple: The image ``(H, W[, C])`` or None when it cannot be decoded,
        and the problems found (empty, truncated, corrupt, unreadable).
    """
    if not data:
        return None, [FileProblem(path, 'empty file', '0 bytes')]
    problems = []
    marker = missing_end_marker(data)
    if marker:
        problems.append(
            FileProblem(
                path, 'truncated', f'{len(data)} bytes without the {marker} '
                '(the file was cut short, e.g. by an interrupted copy)'))
    with captured_native_stderr() as messages:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    message = ' '.join(messages[0].split())
    if img is None:
        if marker:  # the usual reason, already reported
            return None, problems
        problems.append(
            FileProblem(
                path, 'unreadable', 'OpenCV cannot decode it' +
                (f' ({message})' if message else
                 ' (not an image, or a format OpenCV does not read)')))
        return None, problems
    if any(m in message for m in DECODER_DAMAGE) and not marker:
        problems.append(
            FileProblem(path, 'corrupt',
                        f'decoded with damaged data: "{message}"'))
    elif message and not any(m in message for m in DECODER_DAMAGE):
        sys.stderr.write(messages[0])  # not ours to judge: pass it on
    if img.size == 0:
        problems.append(
            FileProblem(path, 'unreadable', f'0-sized image {img.shape}'))
    return img, problems
