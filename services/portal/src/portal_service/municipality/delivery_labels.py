"""What a delivery's CSV holds and what the inventory's import words mean, for the deliveries
pages (message ids, translated when shown)."""

from __future__ import annotations

from portal_service.i18n import N_

# The CSV's columns as the inventory reads them: (name, required, what it holds).
COLUMNS: list[tuple[str, bool, str]] = [
    ("serial_number", True, N_("The manufacturer's serial number, unique across the country.")),
    ("asset_tag", True, N_("Your inventory number, unique in your municipality.")),
    ("catalogue_item_code", True, N_("The model's code in the catalogue (see below).")),
    (
        "funding_source",
        True,
        N_("Who paid: react_eu, recovery_fund, eu_funds_2021_2027, municipal_budget or other."),
    ),
    (
        "institution_registration_number",
        False,
        N_("The school's registration number, to assign the device to a school."),
    ),
    ("order_reference", False, N_("The order or delivery note number.")),
    (
        "delivery_date",
        False,
        N_("When it was delivered, as 2024-09-01. The warranty counts from it."),
    ),
    ("purchase_price", False, N_("The price in euros, as 329.00.")),
    ("extra_warranty_months", False, N_("Months of warranty bought beyond the model's own.")),
    ("insurer", False, N_("The insurance company.")),
    ("insurance_policy", False, N_("The insurance policy number.")),
    ("insured_until", False, N_("The last day of the insurance, as 2027-08-31.")),
    ("condition", False, N_("new (the default), good, fair or damaged.")),
    ("accessories", False, N_("What comes with it, separated by semicolons: charger;bag.")),
    ("notes", False, N_("Anything else worth knowing.")),
    ("status", False, N_("in_stock (the default) or available for lending at once.")),
]
EXAMPLE_ROWS = [
    [
        "PF3A1B2C",
        "RIX-000101",
        "{item}",
        "recovery_fund",
        "{school}",
        "IZM-2024/17",
        "2024-09-01",
        "329.00",
        "24",
        "",
        "",
        "",
        "new",
        "charger;bag",
        "",
        "in_stock",
    ]
]
STATES = {
    "queued": N_("Waiting to start"),
    "running": N_("Importing"),
    "done": N_("Finished"),
    "failed": N_("Nothing imported"),
}
STATE_TAGS = {
    "queued": "govuk-tag--grey",
    "running": "govuk-tag--blue",
    "done": "govuk-tag--green",
    "failed": "govuk-tag--red",
}
# A refused file: the message at the file field, by what the inventory found.
NO_FILE = N_("Select a CSV file of the delivery")
TOO_LARGE = N_("The file must be smaller than %(mb)s MB. Split the delivery into smaller files.")
NOT_CSV = N_("The file must be a CSV file. Save the spreadsheet as CSV UTF-8.")
MISSING_COLUMNS = N_("The file's first row must name the columns. Missing: %(columns)s")
UNKNOWN_COLUMNS = N_("The file has columns the import does not know: %(columns)s")
REPEATED_COLUMNS = N_("The file names a column twice: %(columns)s")
SEPARATOR = N_("Separate the columns with commas. Save the spreadsheet as CSV UTF-8.")
BAD_LINE = N_(
    "Line %(line)s of the file cannot be read. Check its quotes and save it as CSV UTF-8."
)
TOO_MANY_ROWS = N_("The file has more than %(max)s rows. Split the delivery into smaller files.")
UNREADABLE = N_("The file cannot be read as a delivery. Check it against the columns below.")
CHANGED = N_("The delivery could not be imported. Upload the file again.")
