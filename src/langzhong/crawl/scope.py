"""Where one crawl may go: the origins of its start addresses (scheme, host and port, so another
port of the same host is another site), and an http start's https twin on the standard ports.

Pages, redirects, robots.txt, sitemaps and feeds all obey it; ``--any-site`` lifts it for pages,
sitemaps and feeds, never for a robots.txt, which speaks only for its own origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """scheme://host[:port] (the port only when it is not the scheme's own): the unit the crawl
    stays on and robots.txt and politeness apply to."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # not a port number: never the same origin as a real one
        return f"{parts.scheme}://{parts.netloc.lower()}"
    shown = f":{port}" if port and port != DEFAULT_PORTS.get(parts.scheme) else ""
    return f"{parts.scheme}://{host}{shown}"


def twins(home: str) -> set[str]:
    """The origin and, for http on its standard port, the same host over https (sites move
    their pages there with a redirect)."""
    if home.startswith("http://") and home.count(":") == 1:
        return {home, "https://" + home.removeprefix("http://")}
    return {home}


def same_origin(url: str, home: str) -> str | None:
    """Why ``url`` is not on the origin ``home`` (or its https twin), or None."""
    return None if origin(url) in twins(home) else "another site"


class Scope:
    def __init__(self, starts: list[str], same_site: bool) -> None:
        self.same_site = same_site
        self.origins = {twin for url in starts for twin in twins(origin(url))}

    def refusal(self, url: str) -> str | None:
        """Why the crawl may not ask ``url``, or None."""
        if self.same_site and origin(url) not in self.origins:
            return "another site"
        return None
