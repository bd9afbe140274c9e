"""KServe's built-in serving runtimes per framework (targets.md s.1.2).

The runtime, modelFormat version and protocol are always emitted explicitly: KServe's
auto-selection by priority silently picks MLServer for sklearn/xgboost on v2, and finds no
runtime at all for ONNX on v1.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Framework:
    model_format: str
    format_version: str  # the runtime's declared format version (bare major), not the library release
    runtime: str
    protocols: tuple[str, ...]

    @property
    def default_protocol(self) -> str:
        """v2 where the runtime serves nothing else (onnx, triton) or prefers it (huggingface)."""
        return "v2" if self.model_format in V2_BY_DEFAULT else "v1"


V2_BY_DEFAULT = ("onnx", "triton", "huggingface")
CUSTOM = "custom"  # `container.image` serves the model: no KServe runtime


FRAMEWORKS: dict[str, Framework] = {
    "sklearn": Framework("sklearn", "1", "kserve-sklearnserver", ("v1", "v2")),
    "xgboost": Framework("xgboost", "2", "kserve-xgbserver", ("v1", "v2")),
    "lightgbm": Framework("lightgbm", "4", "kserve-lgbserver", ("v1", "v2")),
    "pytorch": Framework("pytorch", "1", "kserve-torchserve", ("v1", "v2")),
    "tensorflow": Framework("tensorflow", "2", "kserve-tensorflow-serving", ("v1",)),
    "onnx": Framework("onnx", "1", "kserve-tritonserver", ("v2",)),
    "huggingface": Framework("huggingface", "1", "kserve-huggingfaceserver", ("v1", "v2")),
    "triton": Framework("triton", "2", "kserve-tritonserver", ("v2",)),
}
# Every value of the model file's `framework` (spec/schema.py), in the order the reference lists them.
FRAMEWORK_NAMES: tuple[str, ...] = (*FRAMEWORKS, CUSTOM)


def default_protocol(framework: str) -> str:
    fw = FRAMEWORKS.get(framework)
    return fw.default_protocol if fw else "v1"
