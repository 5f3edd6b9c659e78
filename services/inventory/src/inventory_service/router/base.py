"""What every inventory router shares: the prefix, the usual problem responses, the ETag."""

from fastapi import Response

from shared_kit.concurrency import etag
from shared_kit.problems import problem_responses

PREFIX = "/api/v1/inventory"
COMMON = problem_responses(400, 401, 403, 422, 503)
READ = problem_responses(404)
WRITE = problem_responses(404, 409, 412)


def set_etag(response: Response, version: int) -> None:
    """Put the object's version in the response's ETag."""
    response.headers["ETag"] = etag(version)
