"""Code that runs inside images: copied into build contexts as is, never imported by the CLI."""
