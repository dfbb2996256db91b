"""Unbound extensions, initialised in create_app(); the client address every limit counts under."""

import ipaddress

from flask_babel import Babel
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


babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=client_network)
