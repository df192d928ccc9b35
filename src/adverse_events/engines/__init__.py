"""Engines that run a pipeline file somewhere other than this process.

The local runner (`adverse_events.Pipeline`) is the default engine. `engines.ray.RayEngine`
runs the same `PipelineConfig` on a Ray cluster for backfills (``pip install
'adverse-events[ray]'``; ``adverse-events run CONFIG --engine ray``). Nothing here is imported
until used, so the core library never needs Ray.
"""
