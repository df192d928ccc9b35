"""Old home of `adverse_events.model_dir`, kept so that existing imports work."""

from adverse_events.model_dir import (
    MODEL_INFO_FILE,
    ModelInfo,
    library_version,
    read_model_info,
    write_model_info,
)

__all__ = [
    "MODEL_INFO_FILE",
    "ModelInfo",
    "library_version",
    "read_model_info",
    "write_model_info",
]
