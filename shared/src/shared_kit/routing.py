"""A service's routes, added to its app as one flat list.

FastAPI (since 0.137) keeps a router added with `include_router` as a node of a tree, and a
request walks that tree: each level matches the request against every route below it, then
matches it again on its way down to the route it chose. Our routers are nested two or three
deep (a service router including one router per resource), so the kit's way to a handler cost
more than its middleware. Measured in process (the app's middleware and routing, the handler
left out, medians of interleaved blocks): a ticket report 187 → 97 µs of CPU, a device search
(the inventory's last router) 362 → 144 µs, the portal's deeper pages 0.3 to 0.6 ms less each.

Starlette's router matches a flat list once, which is how FastAPI built every app before
0.137: `include_flat` adds each route at the top with everything its includes gave it (their
prefixes, tags, dependencies, responses), as `include_router` did then; every service's OpenAPI
document is the same either way. A flat list also lets `request.app.routes` name every route
again, so a 405 answer's `Allow` header lists the path's methods (`problems`).
"""

from __future__ import annotations

import weakref

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

# Each router's routes, flat, built once (by the router's id, while it lives: routers compare
# by value and have no hash): a test process builds many apps from the same routers, and
# building a route again (its dependencies and models analysed) is what costs.
_FLAT: dict[int, list[BaseRoute]] = {}


def include_flat(app: FastAPI, router: APIRouter) -> None:
    """Add every route of `router`, and of the routers it includes, to `app`'s own routes, in
    their order, each with its effective path and settings (as `app.include_router` would
    give them).

    The routes are built once per router and shared by every app that adds it (as the routes
    of an included router are), so they take no `app.dependency_overrides`: none of ours
    uses them."""
    routes = _FLAT.get(id(router))
    if routes is None:
        routes = _FLAT[id(router)] = _flattened(router)
        weakref.finalize(router, _FLAT.pop, id(router), None)
    app.router.routes.extend(routes)


def _flattened(router: APIRouter) -> list[BaseRoute]:
    flat = APIRouter()  # adds nothing of its own: no prefix, tags, dependencies or responses
    for context in iter_route_contexts(router.routes):
        route, path = context.original_route, context.path
        if not isinstance(route, APIRoute) or path is None:
            raise TypeError(f"only API routes are added flat, not {type(route).__name__}")
        flat.add_api_route(
            path,
            route.endpoint,
            response_model=context.response_model,
            status_code=context.status_code,
            tags=context.tags,
            dependencies=context.dependencies,
            summary=context.summary,
            description=context.description,
            response_description=context.response_description,
            responses=context.responses,
            deprecated=context.deprecated,
            methods=context.methods,
            operation_id=context.operation_id,
            response_model_include=context.response_model_include,
            response_model_exclude=context.response_model_exclude,
            response_model_by_alias=context.response_model_by_alias,
            response_model_exclude_unset=context.response_model_exclude_unset,
            response_model_exclude_defaults=context.response_model_exclude_defaults,
            response_model_exclude_none=context.response_model_exclude_none,
            include_in_schema=context.include_in_schema,
            response_class=context.response_class,
            name=context.name,
            route_class_override=type(route),
            callbacks=context.callbacks,
            openapi_extra=context.openapi_extra,
            generate_unique_id_function=context.generate_unique_id_function,
            strict_content_type=context.strict_content_type,
            max_body_size=context.max_body_size,
        )
    return flat.routes
