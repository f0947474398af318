"""The `scrip` command line (Typer), one module per noun."""
