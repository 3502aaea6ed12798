"""The application: the ``diffusion-verify`` command line (``cli``) and the report writer
(``report``)."""
