"""What the admin API's routers share: the prefix, the usual problems, no-store, admin only."""

from shared_kit.auth import Role, require_roles
from shared_kit.problems import problem_responses

PREFIX = "/api/v1/gateway"
COMMON = problem_responses(400, 401, 403, 422, 503)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PlatformAdmin = require_roles(Role.PLATFORM_ADMIN)
