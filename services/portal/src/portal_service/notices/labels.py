"""What the notification pages call the notifications service's values: kinds of message,
their audiences, the channels (message ids, translated in pages)."""

from __future__ import annotations

from portal_service.i18n import N_

API = "/api/v1/notifications"
CHANNELS: dict[str, str] = {"email": N_("By e-mail"), "sms": N_("By text message (SMS)")}
# A contact point's name, as a field and in sentences.
CHANNEL_NAMES: dict[str, str] = {"email": N_("E-mail address"), "sms": N_("Mobile phone number")}

# Who each group of kinds is for, in the order the preferences page shows them.
AUDIENCES: dict[str, str] = {
    "family": N_("About your family's computers"),
    "school": N_("For the school"),
    "support": N_("For technical support"),
    "anyone": N_("About your contact details"),
}

# Each kind the service sends, as the preferences page names it.
KINDS: dict[str, str] = {
    "reservation_approved": N_("A reservation is approved"),
    "reservation_waitlisted": N_("A reservation is put on the waiting list"),
    "reservation_offered": N_("A computer is offered from the waiting list"),
    "reservation_rejected": N_("A reservation is not approved"),
    "reservation_expired": N_("A reservation has expired"),
    "contract_ready_to_sign": N_("The loan agreement is ready to sign"),
    "contract_sign_reminder": N_("A reminder to sign the loan agreement"),
    "device_ready_to_collect": N_("The computer is ready to collect"),
    "pickup_reminder": N_("A reminder to collect the computer"),
    "return_due_soon": N_("The computer must be returned in 7 days"),
    "return_due_tomorrow": N_("The computer must be returned tomorrow"),
    "loan_overdue": N_("The computer was not returned on time"),
    "ticket_acknowledged": N_("A problem report is received"),
    "ticket_commented": N_("A problem report has a new reply"),
    "ticket_resolved": N_("A problem report is resolved"),
    "loaner_offered": N_("A replacement computer is offered"),
    "approvals_waiting": N_("Reservations wait for the school's approval (daily)"),
    "sla_at_risk": N_("A problem report's deadline is near"),
    "sla_breached": N_("A problem report's deadline has passed"),
    "contact_point_rejected": N_("An address or number of yours does not accept messages"),
}


def kind_label(kind: str) -> str:
    """A kind's name (a kind the portal does not know yet shows as the service names it)."""
    return KINDS.get(kind, kind)
