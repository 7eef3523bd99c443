"""The curator pages: queue, post view with evidence, decisions, monthly reports, audit log.

Server-rendered Jinja2 (autoescaped) with a little plain JS for keyboard shortcuts; no build step.
Pages use the session cookie of service.web.auth, never the API bearer tokens. Every POST form
carries the session's CSRF token. Handlers are plain `def` (database work runs in the thread pool).
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from model.errors import InputError
from model.paths import DATA_DIR
from model.profiles import Profile, Profiles
from model.records import EXCLUSION_REASONS
from model.rubricator import Rubricator, load_rubricator
from storage.review import (
    TIME_LEFT,
    ConflictError,
    NotFoundError,
    QueueFilter,
    ReviewItem,
    ReviewStore,
)

from . import labels
from .auth import (
    COOKIE_PATH,
    LOCAL_LOGIN,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Authenticator,
    CuratorSession,
    WebSettings,
    check_csrf,
)
from .corrections import LOCATION_PARTS, CorrectionForm, corrected_tagging
from .highlight import highlight, marks_from_tagging
from .reports import department_rows, group_rows, groups_png, report_csv, timeliness_png
from .store import open_review

log = logging.getLogger(__name__)
router = APIRouter(prefix="/curator", include_in_schema=False)

HERE = Path(__file__).resolve().parent
STATIC = {"curator.css": "text/css; charset=utf-8", "curator.js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = {
    # post texts are escaped; the policy is the second line of defence (no inline script at all)
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
MESSAGES = {
    "accept": "Предложение принято.",
    "correct": "Исправление сохранено.",
    "return": "Сообщение возвращено в очередь как не компетентное для исполнителя.",
    "answer": "Отмечено: ответ опубликован.",
    "empty": "Очередь пуста: все сообщения решены.",
    "logout": "Вы вышли.",
}


class WebContext:
    """What the pages share: settings, authenticator, templates, rubricator and profiles."""

    def __init__(self, app, settings: WebSettings):
        self.settings = settings
        service_settings = app.state.settings
        self.auth = Authenticator(settings, service_settings.host)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=jinja2.select_autoescape(["html"], default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(labels=labels, reasons=EXCLUSION_REASONS)
        self.env.filters["local_time"] = labels.local_time
        self._rubricator: Rubricator | None = None
        self._profiles: Profiles | None = None
        self._lock = threading.Lock()

    def rubricator(self, app) -> Rubricator:
        pipeline = getattr(app.state, "pipeline", None)
        if pipeline is not None:
            return pipeline.rubricator
        if self._rubricator is None:
            self._rubricator = load_rubricator(DATA_DIR / "rubricator" / "rubricator.yaml")
        return self._rubricator

    def profiles(self, app) -> Profiles:
        pipeline = getattr(app.state, "pipeline", None)
        if pipeline is not None:
            return pipeline.profiles
        if self._profiles is None:
            self._profiles = Profiles.load(DATA_DIR / "profiles", default=app.state.settings.default_region)
        return self._profiles

    def store(self, app) -> ReviewStore:
        store = getattr(app.state, "review", None)
        if store is not None:
            return store
        with self._lock:
            store = getattr(app.state, "review", None)
            if store is None:
                # the service's lifespan normally opens it; opened here when the pages come first
                store = open_review(app.state.settings, self.settings)
                app.state.review = store
        return store


_context_lock = threading.Lock()


def web_context(request: Request) -> WebContext:
    app = request.app
    ctx = getattr(app.state, "web", None)
    if ctx is None:
        with _context_lock:
            ctx = getattr(app.state, "web", None)
            if ctx is None:
                settings = getattr(app.state, "web_settings", None) or WebSettings()
                ctx = WebContext(app, settings)
                app.state.web = ctx
    return ctx


PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def client_host(request: Request) -> str | None:
    """The browser's address; None behind a reverse proxy (a proxy on this machine would make every
    browser look local, and the passwordless local login must stay with this machine's user)."""
    if any(h in request.headers for h in PROXY_HEADERS):
        return None
    return request.client.host if request.client else None


def render(request: Request, name: str, status_code: int = 200, session: CuratorSession | None = None,
           **values: Any) -> HTMLResponse:
    ctx = web_context(request)
    values.setdefault("message", None)
    html = ctx.env.get_template(name).render(request=request, session=session, **values)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, message: str, session: CuratorSession | None = None) -> HTMLResponse:
    return render(request, "error.html", status_code=status, session=session, status=status, message=message)


def current_session(request: Request) -> CuratorSession:
    ctx = web_context(request)
    session = ctx.auth.read(request.cookies.get(SESSION_COOKIE), client_host(request))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # the service's HTTPException handler keeps the headers: a 303 to the login page
        raise HTTPException(303, "login required", headers={"Location": f"/curator/login?next={quote(target)}"})
    return session


def safe_next(value: str | None) -> str:
    """Only our own pages: never an open redirect."""
    if not value:
        return "/curator/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/curator") or "\\" in value:
        return "/curator/"
    return value


def safe_url(value: str | None) -> str | None:
    if not value:
        return None
    return value if urlsplit(value).scheme in ("http", "https") else None


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------------- static and login


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise HTTPException(404, f"expected one of {sorted(STATIC)}, got {name!r}")
    return Response((HERE / "static" / name).read_bytes(), media_type=STATIC[name],
                    headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, failed: int = 0) -> HTMLResponse:
    ctx = web_context(request)
    token, signed = ctx.auth.login_token()
    local = ctx.auth.local_mode(client_host(request))
    response = render(request, "login.html", next=safe_next(next), token=token, local=local,
                      local_login=LOCAL_LOGIN, failed=failed, has_accounts=bool(ctx.auth.accounts))
    response.set_cookie(LOGIN_COOKIE, signed, max_age=3600, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form()] = "",
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/curator/",
) -> Response:
    ctx = web_context(request)
    auth = ctx.auth
    if not auth.check_login_token(request.cookies.get(LOGIN_COOKIE), token):
        return error_page(request, 403, "Форма входа устарела или подделана (нет CSRF-токена). Откройте страницу входа заново.")
    host = client_host(request)
    if auth.local_mode(host):
        session_login, role, local = LOCAL_LOGIN, "curator", True
    else:
        key = f"{login}|{host}"
        if auth.locked(key):
            return error_page(request, 429, "Слишком много неудачных попыток входа. Подождите 5 минут.")
        account = auth.check_password(login.strip(), password)
        if account is None:
            auth.failed(key)
            log.warning("curator login failed for %r", login[:64])
            return redirect(f"/curator/login?failed=1&next={quote(safe_next(next))}")
        auth.succeeded(key)
        session_login, role, local = account.login, account.role, False
    ctx.store(request.app).log_event(session_login, role, "login", "локальный вход без пароля" if local else None)
    response = redirect(safe_next(next))
    response.set_cookie(SESSION_COOKIE, auth.issue(session_login, role, local), max_age=auth.max_age,
                        path=COOKIE_PATH, httponly=True, samesite="lax", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    session = current_session(request)
    if not check_csrf(session, csrf):
        return error_page(request, 403, "Неверный CSRF-токен.", session)
    response = redirect("/curator/login")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


# ---------------------------------------------------------------------- queue and post view


def _queue_row(item: ReviewItem, now: datetime, profiles: Profiles) -> dict[str, Any]:
    tz = profiles.get(item.region).timezone if item.region in profiles else None
    left, css = labels.time_left(item.deadline, now)
    excl = [e for e in item.current.get("exclusions") or [] if e.get("applies")]
    text = item.text if item.text is not None else ""
    return {
        "item": item,
        "deadline": labels.local_time(item.deadline, tz),
        "time_left": left,
        "time_css": css,
        "exclusions": [labels.REASONS.get(e["reason"], e["reason"]) for e in excl],
        "snippet": text[:180] + ("…" if len(text) > 180 else ""),
        "region_name": profiles.get(item.region).name if item.region in profiles else item.region,
    }


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    region: str | None = None,
    group: str | None = None,
    importance: str | None = None,
    status: str = "open",
    time_left: str | None = None,
    msg: str | None = None,
) -> HTMLResponse:
    session = current_session(request)
    ctx = web_context(request)
    store = ctx.store(request.app)
    flt = QueueFilter(region=region or None, group=group or None, importance=importance or None,
                      status=None if status == "all" else (status or "open"), time_left=time_left or None)
    try:
        items = store.queue(flt)
    except InputError as exc:
        return error_page(request, 422, f"Фильтр {exc.field}: {exc.message}", session)
    now = store.clock()
    profiles = ctx.profiles(request.app)
    return render(
        request, "queue.html", session=session,
        rows=[_queue_row(i, now, profiles) for i in items],
        filters={"region": region or "", "group": group or "", "importance": importance or "",
                 "status": status or "open", "time_left": time_left or ""},
        choices=store.choices(), counts=store.counts(), time_left_choices=TIME_LEFT,
        message=MESSAGES.get(msg or ""), local=session.local, limit=flt.limit,
    )


def _department_ids(profile: Profile, tagging: dict) -> tuple[str | None, list[str]]:
    by_name = {d.name: d.id for d in profile.departments.values()}
    executors = (tagging.get("route") or {}).get("executors") or []
    ids = [by_name[e["name"]] for e in executors if e.get("name") in by_name]
    return (ids[0] if ids else None), ids[1:]


@router.get("/next")
def next_post(request: Request, after: str | None = None) -> Response:
    current_session(request)
    post_id = web_context(request).store(request.app).next_open(after)
    if post_id is None:
        return redirect("/curator/?msg=empty")
    return redirect(f"/curator/post/{quote(post_id, safe='')}")


@router.get("/post/{post_id:path}", response_class=HTMLResponse)
def post_page(request: Request, post_id: str, msg: str | None = None) -> HTMLResponse:
    session = current_session(request)
    ctx = web_context(request)
    store = ctx.store(request.app)
    item = store.get(post_id)
    if item is None:
        return error_page(request, 404, f"Сообщения {post_id!r} нет в очереди.", session)
    profiles = ctx.profiles(request.app)
    profile = profiles.get(item.region) if item.region in profiles else profiles.get(None)
    rubricator = ctx.rubricator(request.app)
    tagging = item.current
    text = item.text
    marked = highlight(text, marks_from_tagging(tagging, text, labels.REASONS)) if text is not None else None
    responsible, co_executors = _department_ids(profile, tagging)
    now = store.clock()
    left, css = labels.time_left(item.deadline, now)
    topics_by_group = [(g, rubricator.topics_of(g)) for g in rubricator.groups]
    listed = {e["reason"]: e for e in tagging.get("exclusions") or []}
    return render(
        request, "post.html", session=session, item=item, tagging=tagging, suggested=item.suggested,
        marked=marked, profile=profile, topics_by_group=topics_by_group,
        responsible=responsible, co_executors=co_executors, listed=listed,
        deadline=labels.local_time(item.deadline, profile.timezone), time_left=left, time_css=css,
        detected=labels.local_time(item.detected_at, profile.timezone),
        url=safe_url(item.post.get("url")), history=store.audit(post_id=item.post_id, limit=50),
        location_parts=LOCATION_PARTS, message=MESSAGES.get(msg or ""), tz=profile.timezone,
        can_decide=item.is_open or session.role == "admin",
        quoted_id=quote(item.post_id, safe=""),
    )


@router.post("/decide")
def decide(
    request: Request,
    csrf: Annotated[str, Form()] = "",
    post_id: Annotated[str, Form()] = "",
    version: Annotated[int, Form()] = 0,
    action: Annotated[str, Form()] = "",
    topic: Annotated[str, Form()] = "",
    municipality: Annotated[str, Form()] = "",
    district: Annotated[str, Form()] = "",
    settlement: Annotated[str, Form()] = "",
    street: Annotated[str, Form()] = "",
    house: Annotated[str, Form()] = "",
    importance: Annotated[str, Form()] = "",
    exclusion: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    responsible: Annotated[str, Form()] = "",
    co_executor: Annotated[list[str], Form()] = [],  # noqa: B006
    comment: Annotated[str, Form()] = "",
) -> Response:
    session = current_session(request)
    if not check_csrf(session, csrf):
        return error_page(request, 403, "Неверный CSRF-токен: обновите страницу и повторите.", session)
    ctx = web_context(request)
    store = ctx.store(request.app)
    item = store.get(post_id)
    if item is None:
        return error_page(request, 404, f"Сообщения {post_id!r} нет в очереди.", session)
    if not item.is_open and action in ("accept", "correct", "return") and session.role != "admin":
        return error_page(request, 403, "Решение по этому сообщению уже принято; изменить его может только "
                                         "администратор.", session)
    after = None
    if action == "correct":
        profiles = ctx.profiles(request.app)
        profile = profiles.get(item.region) if item.region in profiles else profiles.get(None)
        form = CorrectionForm(
            topic=topic or None,
            location={"municipality": municipality, "district": district, "settlement": settlement,
                      "street": street, "house": house},
            importance=importance or None,
            exclusions=exclusion,
            responsible=responsible or None,
            co_executors=co_executor,
        )
        try:
            after = corrected_tagging(item.current, form, ctx.rubricator(request.app), profile)
        except InputError as exc:
            return error_page(request, 422, f"Поле {exc.field}: {exc.message}", session)
        if after == item.current:
            action, after = "accept", None  # nothing changed: the suggestion is accepted as it is
    elif action not in ("accept", "return", "answer"):
        return error_page(request, 422, f"Действие: ожидалось accept, correct, return или answer, получено {action!r}", session)
    try:
        store.decide(item.post_id, action, session.login, session.role, after=after,
                     comment=comment.strip()[:2000] or None, expected_version=version)
    except ConflictError:
        return error_page(request, 409, "Сообщение изменилось, пока вы его смотрели (решил другой куратор "
                                         "или пришла новая разметка). Откройте его заново.", session)
    except NotFoundError:
        return error_page(request, 404, f"Сообщения {post_id!r} нет в очереди.", session)
    log.info("curator %s: %s on %s", session.login, action, item.post_id)
    if action in ("accept", "correct", "return"):
        nxt = store.next_open(item.post_id)
        if nxt is not None:
            return redirect(f"/curator/post/{quote(nxt, safe='')}?msg={action}")
        return redirect(f"/curator/?msg={action}")
    return redirect(f"/curator/post/{quote(item.post_id, safe='')}?msg={action}")


# ---------------------------------------------------------------------- reports and audit


def _month(value: str | None, store: ReviewStore) -> str:
    if value:
        try:
            datetime.strptime(value, "%Y-%m")
        except ValueError:
            raise InputError("month", f"expected YYYY-MM, got {value!r}") from None
        return value
    return store.clock().astimezone(timezone.utc).strftime("%Y-%m")


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, month: str | None = None, region: str | None = None) -> HTMLResponse:
    session = current_session(request)
    ctx = web_context(request)
    store = ctx.store(request.app)
    try:
        month = _month(month, store)
        report = store.month_report(month, region or None)
    except InputError as exc:
        return error_page(request, 422, f"Поле {exc.field}: {exc.message}", session)
    query = f"month={quote(month)}&region={quote(region or '')}"
    return render(request, "reports.html", session=session, report=report, month=month, region=region or "",
                  regions=ctx.profiles(request.app).ids(), department_rows=department_rows(report),
                  group_rows=group_rows(report), query=query)


@router.get("/reports/{chart}.png")
def report_chart(request: Request, chart: str, month: str | None = None, region: str | None = None) -> Response:
    session = current_session(request)
    store = web_context(request).store(request.app)
    if chart not in ("timeliness", "groups"):
        return error_page(request, 404, f"График: ожидался timeliness или groups, получен {chart!r}", session)
    try:
        report = store.month_report(_month(month, store), region or None)
    except InputError as exc:
        return error_page(request, 422, f"Поле {exc.field}: {exc.message}", session)
    png = timeliness_png(report) if chart == "timeliness" else groups_png(report)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/reports.csv")
def report_download(
    request: Request,
    month: str | None = None,
    region: str | None = None,
    kind: Annotated[str, Query(pattern="^(departments|groups|daily)$")] = "departments",
) -> Response:
    session = current_session(request)
    store = web_context(request).store(request.app)
    try:
        month = _month(month, store)
        report = store.month_report(month, region or None)
    except InputError as exc:
        return error_page(request, 422, f"Поле {exc.field}: {exc.message}", session)
    name = f"otklik-{kind}-{month}{'-' + region if region else ''}.csv"
    return Response(report_csv(report, kind), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, post_id: str | None = None) -> HTMLResponse:
    session = current_session(request)
    store = web_context(request).store(request.app)
    return render(request, "audit.html", session=session, entries=store.audit(post_id=post_id or None, limit=500),
                  problems=store.verify_audit(), post_id=post_id or "")
