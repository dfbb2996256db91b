"""Domain events one feature announces and another acts on, without importing each other."""

from blinker import Namespace

_signals = Namespace()

#: sent with the beneficiary when a consent is withdrawn; kwargs: user, purpose
consent_withdrawn = _signals.signal("consent-withdrawn")
