"""What a dataset folder holds: the launch checks of data roots look for
the files a dataset would list there."""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple


def find_files(folder: str,
               suffix: Optional[str] = None,
               limit: int = 1) -> Tuple[List[str], Dict[str, int]]:
    """Walk ``folder`` and return up to ``limit`` files ending in ``suffix``
    (any file when None), with a count of the suffixes seen on the way.

    Hidden files (``.gitkeep``, ``.DS_Store``) are not counted: a folder
    holding only those is empty for a dataset.
    """
    found: List[str] = []
    seen: Dict[str, int] = {}
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in sorted(files):
            if name.startswith('.'):
                continue
            ext = osp.splitext(name)[1] or name
            seen[ext] = seen.get(ext, 0) + 1
            if suffix is None or name.endswith(suffix):
                found.append(osp.join(root, name))
                if len(found) >= limit:
                    return found, seen
    return found, seen
