"""What every contracts router shares: the prefix and the usual problem responses."""

from shared_kit.problems import problem_responses

PREFIX = "/api/v1/contracts"
COMMON = problem_responses(400, 401, 403, 422, 503)
