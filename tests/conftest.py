import os

# The tests multiply many small matrices; BLAS threads only oversubscribe the 2 cores there.
# (Set before numpy is first imported; OPENBLAS_CORETYPE and friends are left alone.)
# unit tests run claims in-process (a test of the worker pool asks for --jobs itself)
os.environ.setdefault("DIFFUSION_VERIFY_JOBS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")
