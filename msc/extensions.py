"""Unbound extensions, initialised in create_app(); the client address every limit counts under."""

import ipaddress
from functools import cached_property

import flask_babel
from babel.support import NullTranslations, Translations
from flask import g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

#: IPv6 clients are counted by their network: a provider hands one connection a /64 at least, so an
#: address changed on every request would otherwise start a count of its own each time
IPV6_PREFIX = 64


def network_of(address: str | None) -> str:
    """What a client address is counted under by the rate limits and the login back-off: an IPv4 address
    as it is, an IPv6 address by its /64 network (an IPv4 address written as IPv6, as the IPv4)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip.exploded}/{IPV6_PREFIX}", strict=False))
    return str(ip)


def client_network() -> str:
    """The request's client address (behind the trusted proxies) as the limits count it."""
    return network_of(get_remote_address())


class RequestDomain(flask_babel.Domain):
    """Flask-Babel's message domain, with the request's translations looked up once per request. Flask-Babel
    looks them up again on every string (the request's context three times and the locale's name): a
    form's labels and choices are lazy strings, read twice each when a select is drawn, and a profile
    page read some eighty of them. They are kept where Flask-Babel's force_locale() and refresh() expect
    them, and those clear them while another language is forced or chosen."""

    def get_translations(self) -> Translations | NullTranslations:
        ctx = g.get("_flask_babel") if g else None
        if ctx is None:  # outside a request, or before Flask-Babel's first look-up in it
            return super().get_translations()
        found = getattr(ctx, "babel_translations", None)
        if found is None:
            found = ctx.babel_translations = super().get_translations()
        return found


class Babel(flask_babel.Babel):
    """Flask-Babel, with the messages of the request's language read once per request (RequestDomain)."""

    @cached_property
    def domain_instance(self) -> flask_babel.Domain:
        return RequestDomain(domain=self.domain)


babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=client_network)
