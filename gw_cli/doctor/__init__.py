"""``gw doctor``: check a real gateway against what our library and emulator assume.

    from gw_cli.doctor import run_doctor

    report = run_doctor(models="default", max_requests=50)   # GW_API_KEY, GW_BASE_URL
    print(report.to_markdown())
    raise SystemExit(report.exit_code)

A run sends small requests (plain, streamed, stop, image, video on Gemini, a tool round
trip with the Gemini 3 signature echo, structured output, one family rule, a bad key, an
unknown model) and records each finding as ``pass``, ``fail``, ``differs`` (the gateway
answered, but not as our emulator would: the finding names the assumption and the code
that holds it) or ``skipped``. Reports never carry the key nor whole prompts or answers.
"""

from gw_cli.doctor.gateway_checks import UNKNOWN_MODEL_ID
from gw_cli.doctor.report import CheckResult, DoctorReport, Status
from gw_cli.doctor.runner import DEFAULT_MODELS, Plan, plan_doctor, run_doctor, select_models

__all__ = [
    "DEFAULT_MODELS",
    "UNKNOWN_MODEL_ID",
    "CheckResult",
    "DoctorReport",
    "Plan",
    "Status",
    "plan_doctor",
    "run_doctor",
    "select_models",
]
