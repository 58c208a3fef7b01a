"""Cross-site form posts (CSRF) refused without tokens or cookies: browsers say where a request
comes from. The rule is Go's ``net/http.CrossOriginProtection`` (Go 1.25): ``Sec-Fetch-Site``
must be ``same-origin`` (or ``none``: the user's own action); a browser too old to send it sends
``Origin``, which must name this host; a request with neither is not from a browser (curl, a
script), so nobody's browser was made to send it."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit


def cross_site(headers: Mapping[str, str]) -> bool:
    """True when a browser sent this request from another site's page."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc != headers.get("host")  # "null" has no host: refused
