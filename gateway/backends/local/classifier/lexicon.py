"""Built-in cue phrases for common business document types.

A lexicon entry never creates a category: it only adds evidence to a category the caller
defined whose name or key (or, failing those, description) names the entry's type, so an
"invoice" or "bill" category also scores "amount due" and "remit to". Categories no entry
recognises are scored from their own name and description alone.
"""

from __future__ import annotations

from typing import NamedTuple


class DocType(NamedTuple):
    """One document type: the words naming it, and the phrases evidencing it in a document.

    `cues` pairs each phrase with its weight; multi-word phrases are rarer and so weigh more.
    A tuple, not a dict: entries are shared by every caller of the cached lookups in
    profiles.py, so nothing reachable from them may be mutable.
    """

    label: str
    triggers: tuple[str, ...]
    cues: tuple[tuple[str, float], ...]


def _cues(strong: str, medium: str = "", weak: str = "") -> tuple[tuple[str, float], ...]:
    """Cue weights from `|`-separated phrase lists: strong 2.5, medium 1.2, weak 0.5."""
    table: dict[str, float] = {}
    for phrases, weight in ((strong, 2.5), (medium, 1.2), (weak, 0.5)):
        for phrase in phrases.split("|"):
            if phrase.strip():
                table[phrase.strip()] = weight
    return tuple(table.items())


LEXICON: tuple[DocType, ...] = (
    DocType(
        "invoice",
        ("invoice", "bill", "billing", "tax invoice", "commercial invoice"),
        _cues(
            "invoice number|invoice no|invoice date|amount due|balance due|total due|remit to|"
            "remittance|payment terms|net 30|net 15|net 60|bill to|please pay|due date|"
            "payable within|pay by|bank transfer details|iban|sort code",
            "invoice|vat|tax|terms|overdue|payable|qty|unit price",
            "total|amount",
        ),
    ),
    DocType(
        "receipt",
        ("receipt", "till receipt", "proof of purchase", "sales receipt"),
        _cues(
            "thank you for your purchase|thanks for shopping|cashier|tendered|change due|"
            "card ending|visa|mastercard|amex|approved|auth code|transaction id|store #|"
            "keep this receipt|returns within|paid in full|amount paid|contactless",
            "receipt|paid|change|cash|subtotal|register|till|terminal|items sold|customer copy",
            "total|store|purchase",
        ),
    ),
    DocType(
        "contract",
        ("contract", "agreement", "nda", "non disclosure", "terms of service", "lease", "msa"),
        _cues(
            "hereby|whereas|governing law|in witness whereof|effective date|termination|"
            "confidential information|indemnify|indemnification|force majeure|"
            "entire agreement|severability|the parties|each party|jurisdiction|hereinafter|"
            "shall not|binding|liability|terms and conditions|this agreement|this contract|"
            "is made on|made between|notice period|probationary period|governed by|"
            "signed for and on behalf",
            "agree|agreement|party|parties|term|terminate|signature|signed|obligation|clause|"
            "section|shall|breach|warrant|licensor|licensee|landlord|tenant",
            "date|name",
        ),
    ),
    DocType(
        "resume",
        ("resume", "cv", "curriculum vitae", "candidate profile"),
        _cues(
            "work experience|professional experience|employment history|education|"
            "references available|professional summary|career objective|core competencies|"
            "bachelor of|master of|university|linkedin|languages spoken|certifications",
            "experience|skills|references|degree|graduated|proficient|responsible for|led|"
            "managed|developed|internship|volunteer|gpa|hobbies|interests",
            "team|project",
        ),
    ),
    DocType(
        "bank_statement",
        ("bank statement", "account statement", "statement of account", "bank"),
        _cues(
            "opening balance|closing balance|statement period|account number|sort code|"
            "balance brought forward|balance carried forward|direct debit|standing order|"
            "available balance|routing number|overdraft|interest earned|atm withdrawal",
            "deposits|withdrawals|balance|debit|credit|transfer|checking|savings|statement",
            "bank|account|date",
        ),
    ),
    DocType(
        "purchase_order",
        ("purchase order", "po", "order form", "purchase requisition"),
        _cues(
            "purchase order|po number|po no|po #|ship to|please supply|delivery date|"
            "deliver to|requested by|authorised by|authorized by|buyer|order date|"
            "please reference this po|quote po|approved vendor|requisition",
            "vendor|supplier|order|ordered|supply|deliver|delivery|procurement",
            "qty|quantity",
        ),
    ),
    DocType(
        "letter",
        ("letter", "correspondence", "cover letter", "memo"),
        _cues(
            "dear|yours sincerely|yours faithfully|sincerely|kind regards|best regards|"
            "warm regards|yours truly|to whom it may concern|i am writing|we are writing|"
            "please do not hesitate|look forward to hearing|"
            # the salutations and closings of French and German business letters
            "cher monsieur|chere madame|madame monsieur|salutations distinguees|cordialement|"
            "sehr geehrte|sehr geehrter|mit freundlichen grussen|hochachtungsvoll",
            "regards|yours|writing|letter|enclosed|faithfully",
            "thank|please",
        ),
    ),
    DocType(
        "bill_of_lading",
        ("bill of lading", "bol", "b l", "waybill", "lading"),
        _cues(
            "bill of lading|shipper|consignee|notify party|port of loading|port of discharge|"
            "place of receipt|place of delivery|vessel|voyage|container no|seal no|"
            "freight prepaid|freight collect|gross weight|shipped on board|carrier",
            "carrier|container|freight|cargo|packages|weight|kgs|pallets|marks",
            "shipment",
        ),
    ),
    DocType(
        "payslip",
        ("payslip", "pay slip", "pay stub", "paystub", "salary slip", "earnings statement"),
        _cues(
            "gross pay|net pay|pay period|pay date|year to date|ytd|income tax|"
            "national insurance|ni number|tax code|employee id|employer contribution|"
            "basic salary|overtime|pension|social security|medicare|federal withholding",
            "deductions|earnings|salary|wages|hours|rate|employee|employer|payroll",
            "tax|pay",
        ),
    ),
    DocType(
        "meeting_minutes",
        ("minutes", "meeting minutes", "meeting notes"),
        _cues(
            "attendees|present|apologies|agenda|action items|action points|minutes|"
            "meeting called to order|next meeting|meeting adjourned|chair|chaired by|"
            "minutes of the previous meeting|any other business|motion|seconded|quorum",
            "meeting|discussed|agreed|owner|decision|update|noted|resolved",
            "item|actions",
        ),
    ),
    DocType(
        "quote",
        ("quote", "quotation", "estimate", "proposal", "price quote"),
        _cues(
            "quotation|quote number|valid until|valid for|estimate|estimated cost|"
            "this quote|prices valid|acceptance of this quotation|proposal",
            "quote|estimated|validity|accept|indicative",
            "price",
        ),
    ),
    DocType(
        "medical_record",
        ("medical record", "medical", "patient record", "clinical note", "discharge summary"),
        _cues(
            "patient name|date of birth|diagnosis|chief complaint|history of present illness|"
            "medications|allergies|blood pressure|discharge|prescribed|physician|"
            "vital signs|treatment plan|follow up",
            "patient|clinic|hospital|symptoms|dose|mg|doctor|nurse",
            "history",
        ),
    ),
    DocType(
        "insurance_policy",
        ("insurance policy", "insurance", "policy schedule", "certificate of insurance"),
        _cues(
            "policy number|policyholder|policy holder|sum insured|premium|deductible|"
            "excess|coverage|insured|underwriter|period of insurance|exclusions|"
            "claims procedure",
            "policy|cover|insurer|claim|beneficiary|renewal",
            "risk",
        ),
    ),
    DocType(
        "tax_form",
        ("tax form", "tax return", "w2", "w 2", "1099", "w9", "p60", "p45", "tax"),
        _cues(
            "taxpayer|tax year|social security number|employer identification number|ein|"
            "adjusted gross income|filing status|internal revenue service|hmrc|form w|"
            "federal income tax withheld|tin|schedule c",
            "form|return|withheld|dependents|irs|taxable",
            "tax",
        ),
    ),
    DocType(
        "packing_list",
        ("packing list", "packing slip", "delivery note", "dispatch note"),
        _cues(
            "packing list|packing slip|delivery note|carton|cartons|package contents|"
            "items shipped|qty shipped|qty ordered|back ordered|shipped via|tracking number|"
            "net weight|dimensions",
            "shipped|packed|box|boxes|carton|dispatch",
            "qty",
        ),
    ),
    DocType(
        "credit_note",
        ("credit note", "credit memo", "refund note"),
        _cues(
            "credit note|credit memo|credited|credit amount|original invoice|refund|"
            "amount credited|reason for credit|returned goods",
            "credit|refunded|returned|adjustment",
            "invoice",
        ),
    ),
)
