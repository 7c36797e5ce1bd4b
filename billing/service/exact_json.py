"""JSON responses with exact money: every Decimal written as its own digits (billing.money, the encoder of the
close's JSON files), never through a binary float, while the OpenAPI document says `number`.

FastAPI serializes a response model in pydantic's JSON mode, where a Decimal can only become a float (not exact
above 2**53 cents) or a string. So an API route validates its result against its response model itself, dumps it
in Python mode (the Decimals stay Decimals) and answers with an ExactJSONResponse, which FastAPI passes on as is.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any

from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from billing.money import dumps


class ExactJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content, indent=None).encode()


class ExactJSONRoute(APIRoute):
    """The route class of every API router: a route with a response model answers with an ExactJSONResponse."""

    def __init__(self, path: str, endpoint, **options):
        response_model = options.get("response_model")
        if response_model is not None and not isinstance(response_model, DefaultPlaceholder):
            endpoint = _exact(endpoint, TypeAdapter(response_model), options.get("status_code") or 200)
        super().__init__(path, endpoint, **options)


def _exact(endpoint, adapter: TypeAdapter, status_code: int):
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__name__}: an API route is a plain function (FastAPI runs it in a thread)")

    @functools.wraps(endpoint)  # FastAPI reads the parameters of the endpoint through the wrapper
    def answer(*args, **kwargs):
        result = endpoint(*args, **kwargs)
        if isinstance(result, Response):
            return result
        document = adapter.dump_python(adapter.validate_python(result, from_attributes=True))
        return ExactJSONResponse(document, status_code=status_code)

    return answer
