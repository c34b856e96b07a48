"""One-row predictions through LightGBM's fast single-row C API.

``Booster.predict`` builds a predictor and converts its input on every call, which costs more
than walking the trees for one onboarding instance. LightGBM's C API has a path made for this
case: ``LGBM_BoosterPredictForMatSingleRowFastInit`` prepares the predictor once and
``LGBM_BoosterPredictForMatSingleRowFast`` reuses it. The numbers are LightGBM's own (same trees,
same code), which the tests check against ``Booster.predict``.

Not thread-safe: one instance per worker process (the server's event loop is single-threaded).
"""

from __future__ import annotations

import ctypes
from typing import Any

import lightgbm as lgb
import numpy as np
from lightgbm.basic import _LIB, _safe_call

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities, as Booster.predict returns
_DTYPE_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class SingleRowPredictor:
    """Probabilities for one encoded row at a time, with the predictor prepared once."""

    def __init__(self, booster: lgb.Booster, n_features: int) -> None:
        self._booster = booster  # keeps the booster (and its C handle) alive
        self._n_features = n_features
        self._out = np.empty(booster.num_model_per_iteration(), dtype=np.float64)
        self._out_len = ctypes.c_int64()
        self._config = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_PREDICT_NORMAL),
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(-1),  # all iterations (the best one, after early stopping)
                ctypes.c_int(_DTYPE_FLOAT64),
                ctypes.c_int32(n_features),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))

    def predict(self, row: np.ndarray) -> np.ndarray:
        """The class probabilities of one encoded row (a fresh array)."""
        values = np.ascontiguousarray(row, dtype=np.float64)
        if values.shape != (self._n_features,):
            raise ValueError(f"expected {self._n_features} features, got shape {values.shape}")
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self._config,
                values.ctypes.data_as(ctypes.c_void_p),
                ctypes.byref(self._out_len),
                self._out_ptr,
            )
        )
        return self._out[: self._out_len.value].copy()

    def close(self) -> None:
        """Free the prepared predictor (also done when the object is collected)."""
        if self._config:
            _safe_call(_LIB.LGBM_FastConfigFree(self._config))
            self._config = ctypes.c_void_p()

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> SingleRowPredictor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
