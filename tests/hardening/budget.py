"""How hard the fuzzers try: small in CI, the loaded profile's size under ``--hypothesis-profile=long``."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

#: Per-test example counts in CI (the default profile).
CI_LOAD_EXAMPLES = 60
CI_ANALYZE_EXAMPLES = 25
#: Random-bytes files pushed through `racoondbg analyze` in CI; the long profile multiplies it.
CI_RANDOM_FILES = 3000
#: No single load of a fuzzed input (at most a few hundred KiB) may take longer than this.
MAX_SECONDS_PER_INPUT = 10.0


def deep() -> bool:
    """Whether a deeper profile than Hypothesis' default is loaded."""
    return settings.default.max_examples > settings.get_profile("default").max_examples


def fuzz_settings(ci_examples: int) -> settings:
    return settings(
        max_examples=settings.default.max_examples if deep() else ci_examples,
        deadline=None,
        database=None if not deep() else settings.default.database,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
    )


def random_file_count() -> int:
    return CI_RANDOM_FILES * (5 if deep() else 1)
