"""What every planning router shares: the prefix and the problem responses."""

from __future__ import annotations

from shared_kit.problems import problem_responses

PREFIX = "/api/v1/planning"
COMMON = problem_responses(400, 401, 403, 422, 503)
READ = problem_responses(404)
WRITE = problem_responses(404, 409, 412)
