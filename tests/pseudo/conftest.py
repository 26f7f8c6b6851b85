"""Teachers trained on the synthetic store, for the pseudo-label tests."""

from __future__ import annotations

import pytest

from avemo.train import teacher


@pytest.fixture
def taught(train_params):
    """``train_params`` after both teachers were trained (a few epochs on the synthetic store)."""
    teacher.run(train_params, progress=False)
    return train_params
