"""`python -m catalog` is `python -m catalog.local`: serve the handler locally."""

from catalog.local import main

main()
