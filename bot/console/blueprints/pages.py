"""The console's pages (sign-in and the console itself) and its health check."""
from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.sessions import requires

bp = Blueprint("pages")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def page(name: str) -> response.HTTPResponse:
    return response.html((TEMPLATES / name).read_text(encoding="utf-8"))


@bp.get("/health")
async def health(_: Request) -> response.HTTPResponse:
    return response.json({"status": "ok"})


@bp.get("/login")
async def login_page(_: Request) -> response.HTTPResponse:
    return page("login.html")


@bp.get("/")
@requires(page=True, template="console.html")
async def console_page(request: Request) -> response.HTTPResponse:
    if request.ctx.user.role == "trainer":  # the queue and conversations are the agents'; a trainer works on /train
        return response.redirect("/train")
    return page("console.html")
