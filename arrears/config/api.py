"""The JSON API at /api/v1/: one router per app, bearer-token or session authentication."""

from __future__ import annotations

from ninja import NinjaAPI

from arrears.accounts.auth import ApiAuth
from arrears.accounts.throttling import TokenRateThrottle, UserRateThrottle
from arrears.cases.api import router as cases_router
from arrears.cases.api_work import router as work_router
from arrears.comms.api import router as comms_router
from arrears.comms.api_messages import router as messages_router
from arrears.comms.api_visits import router as visits_router
from arrears.compliance.api import router as compliance_router
from arrears.delinquency.api import router as delinquency_router
from arrears.portfolio.api import router as portfolio_router

api = NinjaAPI(
    title="Arrears API",
    version="1",
    urls_namespace="api-v1",
    auth=ApiAuth(),
    # 429 with {"detail": ...} past either budget (docs/security.md).
    throttle=[UserRateThrottle(), TokenRateThrottle()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/", portfolio_router)
api.add_router("/", cases_router)
api.add_router("/", work_router)
api.add_router("/", delinquency_router)
api.add_router("/", compliance_router)
api.add_router("/", visits_router)
api.add_router("/", messages_router)
# Provider callbacks: signed by the provider, no user authentication (arrears/comms/api.py).
api.add_router("/", comms_router)
