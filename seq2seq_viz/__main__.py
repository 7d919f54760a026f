"""python -m seq2seq_viz: the command line."""

from .cli import main

raise SystemExit(main())
