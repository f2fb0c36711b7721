"""Shared fixtures of the detector tests: real panoramas and real photos with known boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from django.conf import settings

#: the astronaut portrait of scikit-image, head and shoulders, and her face box in that crop
#: (drawn by hand: hairline to chin, ear to ear; index coordinates of the crop)
FACE_CROP = (slice(0, 320), slice(96, 352))
FACE_BOX = (84.0, 62.0, 170.0, 172.0)


def load_panorama(name: str, width: int) -> np.ndarray:
    from annotations.imaging import tonemap_to_uint8

    path = settings.BASE_DIR / "data" / "polyhaven" / f"{name}_1k.hdr"
    hdr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
    rgb = tonemap_to_uint8(np.ascontiguousarray(hdr))
    if rgb.shape[1] != width:
        rgb = cv2.resize(rgb, (width, width // 2), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


@pytest.fixture(scope="session")
def portrait() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[FACE_CROP])


@pytest.fixture(scope="session")
def page() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(np.repeat(data.page()[..., None], 3, axis=2))


@pytest.fixture(scope="session")
def face_adapter():
    from inference.detectors.adapters import FaceAdapter

    return FaceAdapter()


@pytest.fixture(scope="session")
def text_adapter():
    from inference.detectors.adapters import TextAdapter

    return TextAdapter()
