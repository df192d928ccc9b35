"""adverse_events: find adverse drug events in what patients write online.

Collect posts, decide which describe an adverse event, pull out the drug and the event, code
the event, store it, and show trends and safety signals. See https://adverse-events.readthedocs.io
(docs/ in the repository) for the quickstart.
"""

from __future__ import annotations

from adverse_events.config import PipelineConfig, load_config
from adverse_events.errors import (
    AdverseEventsError,
    BackendError,
    ConfigError,
    InputError,
    PermanentBackendError,
    PluginError,
    TransientBackendError,
)
from adverse_events.pipeline import Pipeline
from adverse_events.protocols import Classifier, Extractor, Sink, Source
from adverse_events.records import (
    AdverseEventRecord,
    Concept,
    DeadLetter,
    Mention,
    Post,
    Prediction,
)
from adverse_events.registry import get_registry
from adverse_events.report import RunReport
from adverse_events.version import library_version as _library_version

__version__ = _library_version()

__all__ = [
    "AdverseEventRecord",
    "AdverseEventsError",
    "BackendError",
    "Classifier",
    "Concept",
    "ConfigError",
    "DeadLetter",
    "Extractor",
    "InputError",
    "Mention",
    "PermanentBackendError",
    "Pipeline",
    "PipelineConfig",
    "PluginError",
    "Post",
    "Prediction",
    "RunReport",
    "Sink",
    "Source",
    "TransientBackendError",
    "__version__",
    "get_registry",
    "load_config",
]
