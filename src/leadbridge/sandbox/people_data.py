"""Realistic-looking B2B people and companies, drawn from a seeded generator."""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_NAMES = (
    "Dana Omar Lee Priya Sam Kim Ana Jonas Mei Tariq Elena Marcus Aisha Pedro Hannah Yusuf "
    "Chloe Raj Ingrid Mateo Nora Kwame Sofia Liam Fatima Noah Zara Ethan Olga Diego Leila "
    "Victor Grace Hiro Amara Felix Rosa Anil Clara Tomasz Beatriz Owen Lucia Kofi Mira"
).split()
LAST_NAMES = (
    "Whitaker Haddad Chen Raman Rivera Park Souza Berg Tanaka Aziz Petrova Okafor Khan Alves "
    "Schmidt Demir Laurent Patel Nilsen Garcia Lindqvist Mensah Rossi Murphy Rahman Cohen "
    "Ito Novak Silva Moreau Fischer Nakamura Adeyemi Costa Larsen Romero Kowalski Sato Brennan"
).split()
COMPANY_STEMS = (
    "Northwind Bluepeak Ironclad Harbor Meridian Quantra Solstice Keystone Vertex Cobalt "
    "Pinecrest Brightline Atlas Redwood Silverline Tidewater Summit Lumen Granite Crescent"
).split()
COMPANY_KINDS = (
    "Logistics Health Analytics Foods Energy Robotics Capital Freight Labs Retail Systems Media"
).split()
SUFFIXES = ("Inc", "GmbH", "Ltd", "LLC", "AG", "Group", "Co")
# Industries as HubSpot's default `industry` options spell them.
INDUSTRIES = (
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "HOSPITAL_HEALTH_CARE",
    "COMPUTER_SOFTWARE",
    "FOOD_PRODUCTION",
    "OIL_ENERGY",
    "INDUSTRIAL_AUTOMATION",
    "FINANCIAL_SERVICES",
    "RETAIL",
    "MARKETING_AND_ADVERTISING",
    "EDUCATION_MANAGEMENT",
)
TITLES = (
    "VP Operations",
    "Head of Marketing",
    "Director of Sales",
    "CFO",
    "IT Manager",
    "Operations Analyst",
    "CEO",
    "Procurement Lead",
    "Student",
    "Marketing Coordinator",
    "Chief Revenue Officer",
    "Supply Chain Manager",
)
EMPLOYEES = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
# Who ends up buying looks different: decision makers, in the industries the product is
# for, at companies big enough to need it (the shipped scoring.yaml's fit criteria).
BUYER_TITLES = (
    "VP Operations",
    "Head of Marketing",
    "Director of Sales",
    "CFO",
    "CEO",
    "Chief Revenue Officer",
    "Supply Chain Manager",
    "IT Manager",
)
BUYER_INDUSTRIES = INDUSTRIES[:8]
BUYER_EMPLOYEES = ("25-50", "50-100", "100-500", "500-1000", "1000+")
HUBSPOT_SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "OTHER_CAMPAIGNS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
    "PAID_SOCIAL",
)
SALESFORCE_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Event", "Webinar", "Other")


# Top-level domain -> country; .com and .io companies are taken to be American.
_COUNTRIES = {"de": "Germany", "uk": "United Kingdom"}


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    company: str
    domain: str
    title: str
    industry: str
    employees: str
    phone: str

    @property
    def country(self) -> str:
        """Where the company is, read off its domain (drawn from nothing: the same seed
        makes the same people as before countries existed)."""
        return _COUNTRIES.get(self.domain.rsplit(".", 1)[-1], "United States")


def make_person(rng: random.Random, serial: int, *, buyer: bool = False) -> Person:
    """A person; `serial` keeps emails unique however many are drawn. A `buyer` fits the
    product better (a senior title, a target industry, a company of 25 or more)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    stem, kind = rng.choice(COMPANY_STEMS), rng.choice(COMPANY_KINDS)
    domain = f"{stem}{kind}".lower() + rng.choice((".com", ".io", ".de", ".co.uk"))
    return Person(
        first_name=first,
        last_name=last,
        email=f"{first}.{last}{serial}@{domain}".lower(),
        company=f"{stem} {kind} {rng.choice(SUFFIXES)}",
        domain=domain,
        title=rng.choice(BUYER_TITLES if buyer else TITLES),
        industry=rng.choice(BUYER_INDUSTRIES if buyer else INDUSTRIES),
        employees=rng.choice(BUYER_EMPLOYEES if buyer else EMPLOYEES),
        phone=f"+1 {rng.randint(200, 989)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
    )
