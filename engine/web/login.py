"""The browser page's token: asked for once, then kept as a cookie scoped to the page.

With ``--token``, every API call carries ``Authorization: Bearer``; a browser cannot, so ``/ui/login`` asks
for the token and sets it as an HttpOnly, SameSite=Strict cookie whose path is ``/ui``: the page's own
requests carry it and nothing else on the site sees it.
"""

from __future__ import annotations

import hmac
import html
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

COOKIE = "landuse_ui_token"
LOGIN = "/ui/login"

_FORM = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>县域土地利用监测</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28em;margin:4em auto}}input{{font-size:1em;padding:.4em}}
</style></head><body><h2>县域土地利用监测</h2><p>此服务需要令牌（启动服务时的 --token）。</p>
<form method="post" action="/ui/login"><input id="token" name="token" type="password" autofocus
placeholder="令牌 / token"> <button id="login" type="submit">进入</button></form><p style="color:#b00">{error}</p>
</body></html>"""


def has_cookie(request: Request, token: str) -> bool:
    given = request.cookies.get(COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


async def login(request: Request, token: str) -> Response:
    """GET: the form; POST: the token checked, then the cookie set and the page opened."""
    if request.method != "POST":
        return HTMLResponse(_FORM.format(error=""))
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    given = (fields.get("token") or [""])[0]
    if not hmac.compare_digest(given.encode(), token.encode()):
        return HTMLResponse(_FORM.format(error=html.escape("令牌不正确 / wrong token")), status_code=401)
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(COOKIE, token, path="/ui", httponly=True, samesite="strict")
    return response


def refuse(request: Request) -> Response:
    """A page request without the cookie goes to the form; the page's other requests are refused."""
    if request.method == "GET" and request.url.path in ("/ui", "/ui/"):
        return RedirectResponse(LOGIN, status_code=303)
    return Response('{"error":{"code":"unauthorised","message":"open /ui/login first"}}', status_code=401,
                    media_type="application/json")
