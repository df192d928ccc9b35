"""A Ray engine driver the kill test runs as its own process: ``python -m tests.engines.driver
CONFIG``. It is the CLI's ``run --engine ray`` with the test backends registered."""

from __future__ import annotations

import json
import sys

from adverse_events.config import load_config
from adverse_events.engines.ray import RayEngine
from tests.engines.ray_backends import RayTestBackends

if __name__ == "__main__":
    import ray

    ray.init(
        num_cpus=2,
        _node_ip_address="127.0.0.1",  # loopback only
        include_dashboard=False,
        logging_level="WARNING",
    )
    report = RayEngine(load_config(sys.argv[1]), plugins=[RayTestBackends()], progress=False).run()
    print(json.dumps(report.to_dict()))
    sys.exit(1 if report.failed else 0)
