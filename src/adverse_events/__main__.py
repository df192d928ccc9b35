"""``python -m adverse_events`` runs the command-line interface."""

from adverse_events.cli import main

main()
