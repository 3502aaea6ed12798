"""Claims: executable statements of the theory, with verdicts (see ``base`` and ``registry``).

Importing this package is light: claim modules are imported only by
:func:`verify.claims.registry.all_claims`.
"""

from verify.claims.base import (
    BUDGETS,
    RUNG_NAMES,
    VERDICTS,
    Claim,
    ClaimResult,
    RunContext,
    Table,
    run_claim,
)

__all__ = [
    "BUDGETS",
    "RUNG_NAMES",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "RunContext",
    "Table",
    "run_claim",
]
