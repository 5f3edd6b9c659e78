# ruff: noqa: RUF001 - Latvian typography uses the en dash
"""The loan agreement template (patapinājuma līgums): Latvian text with an English rendering.

Templates are versioned: a contract records the `TEMPLATE_VERSION` it was drafted with, and a
changed wording gets a new version here (old contracts keep their stored PDFs). The Latvian
text prevails; the English rendering is for information. Clauses are format strings over
`Fields` (already formatted text), so the template holds wording only, no logic. 2026.2: the
period's end is printed as its last day (an exclusive end at Riga midnight is the day before)
or as its date and time, and the English text says "inclusive" where the Latvian does.
"""

from __future__ import annotations

from dataclasses import dataclass

TEMPLATE_VERSION = "2026.2"
CONSENT_VERSION = "2026.1"

TITLE = ("PATAPINĀJUMA LĪGUMS", "LOAN AGREEMENT (COMMODATUM)")
PREVAILS = (
    "Līgums sagatavots latviešu valodā; angļu tulkojums ir informatīvs.",
    "The Latvian text prevails; the English rendering is for information only.",
)
DRAFT_NOTICE = (
    "PROJEKTS: aizdevēja juridiskie rekvizīti vēl nav reģistrēti platformā; līgumu nevar "
    "parakstīt, līdz tie ir norādīti.",
    "DRAFT: the lender's legal details are not yet registered on the platform; the agreement "
    "cannot be signed until they are.",
)


# The labels of the parties' and the device's blocks; the PDF prints "Latvian / English".
LENDER = ("Patapinātājs", "Lender")
BORROWER = ("Patapinājuma ņēmējs", "Borrower")
LEARNER = ("Izglītojamais (lietotājs)", "Learner (user)")
NAME = ("Vārds, uzvārds", "Name")
PERSONAL_CODE = ("Personas kods", "Personal code")
INSTITUTION = ("izglītības iestāde", "institution")
REGISTRATION_NUMBER = ("Reģistrācijas Nr.", "Registration No.")
ADDRESS = ("Adrese", "Address")
REPRESENTATIVE = ("Pārstāvis", "Represented by")
# The lender's kind and registry code, by kind: (kind, code label), each in Latvian and English.
LENDER_KINDS = {
    "municipality": (("pašvaldība", "municipality"), ("ATVK kods", "ATVK code")),
    "institution": (
        ("izglītības iestāde", "education institution"),
        ("VIIS reģ. Nr.", "VIIS reg. No."),
    ),
}
DEVICE = ("Ierīce", "Device")
ASSET_TAG = ("Inventāra Nr.", "Asset tag")
SERIAL_NUMBER = ("Sērijas Nr.", "Serial number")
MODEL = ("Modelis", "Model")
CATEGORY = ("Veids", "Category")
ACCESSORIES = ("Piederumi", "Accessories")
VALUE = ("Vērtība atbildībai", "Value for liability")
PERIOD = ("Termiņš", "Period")


@dataclass(frozen=True)
class Clause:
    """A numbered clause: heading and text, each in Latvian and English."""

    heading: tuple[str, str]
    text: tuple[str, str]


CLAUSES: tuple[Clause, ...] = (
    Clause(
        ("Līguma priekšmets", "Subject"),
        (
            "Patapinātājs nodod, bet patapinājuma ņēmējs pieņem bezatlīdzības lietošanā šajā "
            "līgumā aprakstīto ierīci (turpmāk – Ierīce) izglītojamā {learner} mācību "
            "vajadzībām. Uz līgumu attiecas Civillikuma noteikumi par patapinājumu.",
            "The lender hands over, and the borrower accepts for use free of charge, the device "
            "described in this agreement (the Device) for the learning needs of the learner "
            "{learner}. The Civil Law's provisions on loans for use (commodatum) apply.",
        ),
    ),
    Clause(
        ("Termiņš", "Period"),
        (
            "Ierīce tiek nodota lietošanā no {start_lv} līdz {end_lv}. Ierīce jāatdod ne "
            "vēlāk kā līdz termiņa beigām vai agrāk, ja izglītojamais beidz mācības izglītības "
            "iestādē.",
            "The Device is lent from {start_en} to {end_en}. It must be returned no later than "
            "the end of the period, or earlier if the learner leaves the institution.",
        ),
    ),
    Clause(
        ("Patapinājuma ņēmēja pienākumi", "Duties of the borrower"),
        (
            "Patapinājuma ņēmējs lieto Ierīci tikai mācībām, glabā to rūpīgi, nenodod trešajām "
            "personām, nemaina tās aparatūru vai programmatūru un triju darba dienu laikā "
            "paziņo patapinātājam par Ierīces bojājumu, nozaudēšanu vai zādzību (zādzības "
            "gadījumā arī Valsts policijai).",
            "The borrower uses the Device for learning only, keeps it with care, does not pass "
            "it on to third parties, does not alter its hardware or software, and reports any "
            "damage, loss or theft to the lender within three working days (a theft also to the "
            "State Police).",
        ),
    ),
    Clause(
        ("Apdrošināšana", "Insurance"),
        ("{insurance_lv}", "{insurance_en}"),
    ),
    Clause(
        ("Atbildība", "Liability"),
        (
            "Patapinājuma ņēmējs atbild par Ierīces bojājumu vai nozaudēšanu, kas radusies ļauna "
            "nolūka vai rupjas neuzmanības dēļ, līdz Ierīces vērtībai atbildības aprēķinam: "
            "{value_lv}. Par parastu nolietojumu patapinājuma ņēmējs neatbild. Apdrošināšanas "
            "atlīdzība samazina atlīdzināmo summu.",
            "The borrower is liable for damage to or loss of the Device caused by intent or gross "
            "negligence, up to its value for liability: {value_en}. The borrower is not liable "
            "for ordinary wear. Any insurance indemnity reduces the amount due.",
        ),
    ),
    Clause(
        ("Ierīces atdošana", "Return of the Device"),
        (
            "Ierīce jāatdod izglītības iestādē tādā stāvoklī, kādā tā saņemta (ņemot vērā parasto "
            "nolietojumu), kopā ar visiem piederumiem. Iestāde atdošanu reģistrē, norādot Ierīces "
            "stāvokli.",
            "The Device is returned to the institution in the condition in which it was received "
            "(ordinary wear excepted), with all accessories. The institution records the return "
            "and the Device's condition.",
        ),
    ),
    Clause(
        ("Personas dati", "Personal data"),
        (
            "Puses apstrādā personas datus tikai līguma izpildei saskaņā ar Vispārīgo datu "
            "aizsardzības regulu. Personas kods ir norādīts tikai šajā dokumentā.",
            "The parties process personal data only to perform this agreement, under the General "
            "Data Protection Regulation. The personal code appears in this document only.",
        ),
    ),
    Clause(
        ("Noslēgšana un spēkā stāšanās", "Conclusion and entry into force"),
        (
            "Līgumu noslēdz elektroniski: patapinājuma ņēmējs to paraksta pēc autentifikācijas "
            "ar augstas drošības līdzekli, patapinātājs to paraksta pēc tam. Parakstīto "
            "dokumentu apzīmogo ar platformas elektronisko zīmogu. Līgums stājas spēkā, kad to "
            "parakstījušas abas puses.",
            "The agreement is concluded electronically: the borrower signs after authenticating "
            "with a high-assurance method, then the lender countersigns. The signed document is "
            "sealed with the platform's electronic seal. It enters into force when both parties "
            "have signed.",
        ),
    ),
    Clause(
        ("Strīdi", "Disputes"),
        (
            "Strīdus puses risina sarunās, bet, ja vienoties neizdodas, – Latvijas Republikas "
            "tiesā.",
            "The parties settle disputes by negotiation, failing which in the courts of the "
            "Republic of Latvia.",
        ),
    ),
)

CONSENT = (
    "Esmu iepazinies ar patapinājuma līgumu {number} (versija {version}, SHA-256 {sha256}), "
    "piekrītu tā noteikumiem un parakstu to elektroniski.",
    "I have read loan agreement {number} (version {version}, SHA-256 {sha256}), agree to its "
    "terms and sign it electronically.",
)
CONSENT_TEMPLATE = (
    "Esmu iepazinies ar patapinājuma līgumu, piekrītu tā noteikumiem un parakstu to elektroniski.",
    "I have read the loan agreement, agree to its terms and sign it electronically.",
)

INSURED = (
    "Ierīce ir apdrošināta līdz {until_lv} (ieskaitot). Apdrošināšana nesedz ar ļaunu nolūku "
    "vai rupjas neuzmanības dēļ nodarītus bojājumus.",
    "The Device is insured until {until_en} (inclusive). The insurance does not cover damage "
    "caused by intent or gross negligence.",
)
NOT_INSURED = (
    "Ierīce nav apdrošināta. Patapinātājs to var apdrošināt savā vārdā; patapinājuma ņēmējam "
    "apdrošināšana nav jāpērk.",
    "The Device is not insured. The lender may insure it in its own name; the borrower need not "
    "buy insurance.",
)
VALUE_UNKNOWN = (
    "iegādes vērtība saskaņā ar patapinātāja grāmatvedības datiem",
    "the purchase value in the lender's accounts",
)
