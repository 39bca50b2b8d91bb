"""Code that runs inside images. Copied into the build context as it is; never imported by the CLI."""
