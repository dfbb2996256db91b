"""Domain events one feature announces and another acts on, without importing each other."""

from blinker import Namespace

_signals = Namespace()

#: sent with the beneficiary when a consent is withdrawn; kwargs: user, purpose
consent_withdrawn = _signals.signal("consent-withdrawn")

#: sent with the referral right after a compare-and-set moved its status, before any other field of it
#: changes (the row already shows the new status; that UPDATE bypassed the ORM, so no flush sees it);
#: kwargs: session, from_status, to_status
referral_status_moved = _signals.signal("referral-status-moved")

#: sent with the hand-over once it is claimed as voided and before its lines are marked voided by an UPDATE
#: that bypasses the ORM (so the lines still show what they counted); kwargs: session
hand_over_voided = _signals.signal("hand-over-voided")

#: sent with a person around UPDATEs that bypass the ORM and change what the person counts for (a merge
#: of two records moves needs and marks one record merged): before them with counted=False (what the
#: person counted for goes), after them, once the person is read again, with counted=True; kwargs: session,
#: counted
person_recounted = _signals.signal("person-recounted")
