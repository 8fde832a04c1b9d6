"""HTTP clients for a hub, built on ``requests``: the REST API with a token, and browser-like sessions.

- ``HubHTTP``: a ``requests.Session`` that resolves paths against the hub's public URL, never uses the proxies of
  the environment, has a default timeout, and answers ``HubResponse``: a ``requests.Response`` that also carries
  the tracebacks the hub logged while the request ran (``.hub_errors``).
- ``ApiClient``: ``HubHTTP`` with ``Authorization: token ...``, paths relative to ``<base>hub/api/``.
- ``HubSession``: a browser-like session (cookies; the ``_xsrf`` token sent with every request that changes
  something), with form helpers; ``login()`` logs in through the hub's real login form.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import requests

from . import logs
from .errors import JupyterHubError, LoginFailed
from .logs import HubTraceback, LogWatcher

__all__ = ["ApiClient", "Form", "HubHTTP", "HubResponse", "HubSession", "login"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
XSRF_HEADER = "X-XSRFToken"


class HubResponse(requests.Response):
    """A ``requests.Response`` with ``.hub_errors``: the tracebacks the hub logged while this request ran.

    ``raise_for_status()`` names them, and for a 5xx the ``repr`` shows the first one's summary, so a failing
    ``assert r.status_code == 200`` says why the hub failed.
    """

    hub_errors: list[HubTraceback]

    @classmethod
    def of(cls, response: requests.Response, hub_errors: list[HubTraceback]) -> HubResponse:
        """A ``HubResponse`` with the state of ``response`` (the same body, headers, history...)."""
        new = cls.__new__(cls)
        new.__dict__.update(response.__dict__)
        new.hub_errors = hub_errors
        return new

    def raise_for_status(self) -> None:
        """``requests``' check of the status; the error's message ends with the hub's tracebacks, if any."""
        try:
            super().raise_for_status()
        except requests.HTTPError as exc:
            if not getattr(self, "hub_errors", None):
                raise
            text = "\n\n".join(t.text for t in self.hub_errors)
            raise requests.HTTPError(f"{exc}\n--- hub tracebacks ---\n{text}", response=self) from None

    def __repr__(self) -> str:
        errors = getattr(self, "hub_errors", None)
        if self.status_code >= 500 and errors:
            return f"<HubResponse [{self.status_code}] hub error: {errors[0].summary}>"
        return f"<HubResponse [{self.status_code}]>"


class HubHTTP(requests.Session):
    """A ``requests.Session`` on a hub whose public URL is ``base_url``.

    Paths are resolved by ``url()``; ``verify`` is ``requests``' (a CA bundle path for a hub with its own CA);
    ``log`` (a ``LogWatcher`` on the hub's log) fills ``HubResponse.hub_errors``; ``timeout`` (seconds) applies
    to requests that give none. Proxies from the environment are never used.
    """

    def __init__(
        self, base_url: str, *, verify: bool | str = True, log: LogWatcher | None = None, timeout: float = 30.0
    ):
        super().__init__()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        parts = urlsplit(self.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path or "/"
        self.verify = verify
        self.trust_env = False
        self.log = log
        self.timeout = timeout
        self._local = threading.local()  # per thread: where the log was when its request started
        self.hooks["response"].append(self._as_hub_response)

    def url(self, path: str) -> str:
        """The full URL for ``path``.

        Full URLs are kept; ``/hub/home`` is taken under the hub's base path (``http://host/prefix/`` gives
        ``http://host/prefix/hub/home``; a path that already starts with the prefix is not prefixed twice, so
        server URLs as the hub's API gives them work); ``hub/home`` is relative to ``base_url``.
        """
        if urlsplit(path).scheme:
            return path
        if path.startswith("/"):
            if self.base_path != "/" and (path + "/").startswith(self.base_path):
                return self.origin + path
            return self.origin + self.base_path.rstrip("/") + path
        return urljoin(self.base_url, path)

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """Resolve the request's URL with ``url()``, then prepare it as ``requests`` does."""
        target = request.url.decode() if isinstance(request.url, bytes) else request.url
        request.url = self.url(str(target))
        return super().prepare_request(request)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send with the default timeout; remember where the hub's log was, for ``HubResponse.hub_errors``."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        marks = self._marks()
        marks.append(self.log.mark() if self.log is not None else None)
        try:
            return super().send(request, **kwargs)
        finally:
            marks.pop()

    def _marks(self) -> list[int | None]:
        if not hasattr(self._local, "marks"):
            self._local.marks = []
        marks: list[int | None] = self._local.marks
        return marks

    def _as_hub_response(self, response: requests.Response, **kwargs: Any) -> HubResponse:
        marks = self._marks()
        offset = marks[-1] if marks else None
        errors = self.log.tracebacks_since(offset) if self.log is not None and offset is not None else []
        return HubResponse.of(response, errors)

    # the verbs, typed to answer HubResponse (which the response hook makes them return)
    def get(self, url: str | bytes, params: Any = None, **kwargs: Any) -> HubResponse:
        """GET ``url`` (resolved by ``url()``)."""
        return cast(HubResponse, super().get(url, params=params, **kwargs))

    def head(self, url: str | bytes, **kwargs: Any) -> HubResponse:
        """HEAD ``url`` (resolved by ``url()``)."""
        return cast(HubResponse, super().head(url, **kwargs))

    def options(self, url: str | bytes, **kwargs: Any) -> HubResponse:
        """OPTIONS ``url`` (resolved by ``url()``)."""
        return cast(HubResponse, super().options(url, **kwargs))

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> HubResponse:
        """POST to ``url`` (resolved by ``url()``)."""
        return cast(HubResponse, super().post(url, data=data, json=json, **kwargs))

    def put(self, url: str | bytes, data: Any = None, **kwargs: Any) -> HubResponse:
        """PUT to ``url`` (resolved by ``url()``)."""
        return cast(HubResponse, super().put(url, data=data, **kwargs))

    def patch(self, url: str | bytes, data: Any = None, **kwargs: Any) -> HubResponse:
        """PATCH ``url`` (resolved by ``url()``)."""
        return cast(HubResponse, super().patch(url, data=data, **kwargs))

    def delete(self, url: str | bytes, **kwargs: Any) -> HubResponse:
        """DELETE ``url`` (resolved by ``url()``)."""
        return cast(HubResponse, super().delete(url, **kwargs))


class ApiClient(HubHTTP):
    """The hub's REST API with a token: ``users`` and ``/users`` both mean ``<base>hub/api/users``.

    Full URLs are used as they are (e.g. a single-user server's API, which accepts the same token).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        verify: bool | str = True,
        log: LogWatcher | None = None,
        timeout: float = 30.0,
    ):
        super().__init__(base_url, verify=verify, log=log, timeout=timeout)
        self.token = token
        self.api_url = self.base_url + "hub/api/"
        self.headers["Authorization"] = f"token {token}"

    def url(self, path: str) -> str:
        """``path`` under ``<base>hub/api/`` (full URLs as they are)."""
        if urlsplit(path).scheme:
            return path
        return self.api_url + path.lstrip("/")


@dataclass(frozen=True)
class Form:
    """An HTML form: ``action`` (absolute URL), ``method`` (upper case), ``id`` and the ``fields`` it would send
    as it is (inputs with their values, hidden ones such as ``_xsrf`` included, checked checkboxes and radio
    buttons, selects with their selected option, textareas)."""

    action: str
    method: str
    id: str | None
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    _SKIPPED = frozenset({"submit", "button", "image", "reset", "file"})

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(
                action=urljoin(self.page_url, html.unescape(a.get("action", ""))),
                method=(a.get("method") or "GET").upper(),
                id=a.get("id") or None,
            )
            self.forms.append(self._form)
            return
        form, name = self._form, a.get("name")
        if form is None or not name:
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in self._SKIPPED:
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields[name] = a.get("value") or "on"
                return
            form.fields[name] = a.get("value", "")
        elif tag == "select":
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "textarea":
            self._textarea, self._text = name, []

    def _option(self, a: dict[str, str]) -> None:
        assert self._form is not None and self._select is not None
        value = a.get("value", "")
        if self._select_first is None:
            self._select_first = value
            self._form.fields[self._select] = value
        if "selected" in a and not self._select_chosen:
            self._select_chosen = True
            self._form.fields[self._select] = value

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields[self._textarea] = "".join(self._text)
            self._textarea = None


def parse_forms(page: str, page_url: str) -> list[Form]:
    """The forms of an HTML page fetched from ``page_url`` (form actions are resolved against it)."""
    parser = _FormParser(page_url)
    parser.feed(page)
    parser.close()
    return parser.forms


class HubSession(HubHTTP):
    """A browser-like session on the hub: cookies, redirects followed (``requests``' defaults), and the xsrf
    token sent as the ``X-XSRFToken`` header with every request that is not GET/HEAD/OPTIONS.

    The token is the ``_xsrf`` cookie the hub sets for its pages (scoped to ``<base>hub/``; logging in replaces
    it with one tied to the login); when there is none yet, ``<base>hub/login`` is fetched first, which sets it.
    Pass ``headers={"X-XSRFToken": None}`` to send a request without it. ``username`` is the logged-in user
    (``None`` when anonymous).
    """

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str = True,
        log: LogWatcher | None = None,
        timeout: float = 30.0,
        username: str | None = None,
    ):
        super().__init__(base_url, verify=verify, log=log, timeout=timeout)
        self.username = username

    def xsrf_token(self, url: str) -> str | None:
        """The ``_xsrf`` cookie the session would send to ``url`` (the most specific path wins), if any."""
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path or "/"
        best: tuple[int, str] | None = None
        for cookie in self.cookies:
            if cookie.name != "_xsrf" or cookie.value is None:
                continue
            domain = cookie.domain.lstrip(".").lower()
            if domain and host != domain and not host.endswith("." + domain):
                continue
            scope = cookie.path or "/"
            if not (path == scope.rstrip("/") or path.startswith(scope if scope.endswith("/") else scope + "/")):
                continue
            if best is None or len(scope) > best[0]:
                best = (len(scope), cookie.value)
        return best[1] if best else None

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """Prepare as ``HubHTTP`` does, adding the xsrf header to requests that change something."""
        explicit = any(k.lower() == XSRF_HEADER.lower() for k in (request.headers or {}))
        prepared = super().prepare_request(request)
        if explicit or (prepared.method or "GET").upper() in SAFE_METHODS:
            return prepared
        url = str(prepared.url)
        token = self.xsrf_token(url)
        if token is None:
            self.get(self.base_url + "hub/login")
            token = self.xsrf_token(url)
        if token is not None:
            prepared.headers[XSRF_HEADER] = token
        return prepared

    def page_forms(self, path: str, **kwargs: Any) -> tuple[HubResponse, list[Form]]:
        """GET the page at ``path``; (its response, its forms)."""
        page = self.get(path, **kwargs)
        return page, parse_forms(page.text, page.url)

    def forms(self, path: str, **kwargs: Any) -> list[Form]:
        """The forms of the page at ``path`` (fetched with GET, redirects followed)."""
        return self.page_forms(path, **kwargs)[1]

    def submit(
        self, path: str, data: dict[str, str] | None = None, *, form: int | str = 0, **kwargs: Any
    ) -> HubResponse:
        """Fill in and send a form of the page at ``path``, as a browser would.

        ``form`` picks it: an index, or a string matching a form's ``id`` or contained in its action URL.
        ``data`` is merged over the form's fields; the result is sent with the form's method to its action.
        Other keyword arguments go to ``requests`` (e.g. ``allow_redirects=False``).
        """
        page, found = self.page_forms(path)
        chosen = _pick_form(found, form)
        if chosen is None:
            described = ", ".join(f"#{i} id={f.id!r} action={f.action!r}" for i, f in enumerate(found)) or "none"
            raise JupyterHubError(f"no form {form!r} on {page.url} (HTTP {page.status_code}); forms there: {described}")
        fields = {**chosen.fields, **(data or {})}
        if chosen.method == "GET":
            return self.get(chosen.action, params=fields, **kwargs)
        return cast(HubResponse, self.request(chosen.method, chosen.action, data=fields, **kwargs))


def _pick_form(forms: list[Form], which: int | str) -> Form | None:
    if isinstance(which, int):
        return forms[which] if -len(forms) <= which < len(forms) else None
    by_id = [f for f in forms if f.id == which]
    if by_id:
        return by_id[0]
    return next((f for f in forms if which in f.action), None)


_LOGIN_ERROR = re.compile(r'<p\s+class="login_error"[^>]*>(.*?)</p>', re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def login(
    base_url: str,
    username: str,
    password: str = "",
    *,
    verify: bool | str = True,
    log: LogWatcher | None = None,
    timeout: float = 30.0,
) -> HubSession:
    """Log in through the hub's real login form, as a browser posts it, and return the logged-in session.

    Success is a redirect that sets a ``jupyterhub-*`` cookie (the redirect is not followed: going on to
    ``/hub/spawn`` would start a server). Otherwise ``LoginFailed`` is raised with the page's error message
    (``<p class="login_error">``) or ``HTTP <status>``, and for a 5xx the hub's tracebacks and log tail.
    """
    session = HubSession(base_url, verify=verify, log=log, timeout=timeout)
    mark = log.mark() if log is not None else None
    page, forms = session.page_forms("hub/login")
    chosen = next((f for f in forms if "username" in f.fields), None) or next(
        (f for f in forms if "login" in f.action), None
    )
    if chosen is None:
        response: requests.Response = page
    else:
        fields = {**chosen.fields, "username": username, "password": password}
        response = session.request(chosen.method, chosen.action, data=fields, allow_redirects=False)
        if response.status_code in (301, 302, 303, 307) and any(
            c.name.startswith("jupyterhub-") for c in session.cookies
        ):
            session.username = username
            return session
    match = _LOGIN_ERROR.search(response.text)
    detail = html.unescape(_TAG.sub("", match.group(1))).strip() if match else ""
    if not detail:
        detail = f"HTTP {response.status_code}" + ("" if chosen else ": no login form on " + page.url)
    message = f"login of {username!r} refused: {detail}"
    if response.status_code >= 500 and log is not None:
        message += logs.context(log.path, since_offset=mark)
    raise LoginFailed(message, response.status_code, response)
