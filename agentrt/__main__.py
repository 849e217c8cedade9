"""``python -m agentrt`` runs the CLI."""

from agentrt.cli import console_main

console_main()
