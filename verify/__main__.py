"""``python -m verify``: the diffusion-verify command line (see :mod:`verify.app.cli`)."""

if __name__ == "__main__":  # guard: spawned worker processes re-import this module
    from verify.app.cli import main

    raise SystemExit(main())
