"""Command line (placeholder until the pipeline lands)."""

import typer

app = typer.Typer(help="CallTrace: VoIP call trap-and-trace.")


@app.command()
def version() -> None:
    """Print the version."""
    from calltrace import __version__

    typer.echo(__version__)
