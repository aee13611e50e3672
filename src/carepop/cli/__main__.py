"""``python -m carepop.cli`` runs the ``carepop`` command."""

from carepop.cli.main import main

main()
