"""`leadbridge setup`: make what the doctor finds missing, where the APIs allow it, with
the user's consent. Without --apply it prints what it would do and writes nothing; with
--apply it creates leadbridge's own HubSpot properties and the missing enumeration
options, writes the Salesforce metadata package (custom fields, Lead Status values, a
permission set) for an admin to deploy, and prints the steps left to a person.
Exit 0 when all it could do was done (or printed), 2 on a failure."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from leadbridge.cli.options import Commands, connectors_option, directory, mappings_option
from leadbridge.preflight import metadata
from leadbridge.preflight.setup import Found, Plan, apply_hubspot, gather, plan

_OK, _FAILED = 0, 2
DEFAULT_PACKAGE = Path("leadbridge-salesforce")
_ORG_ALIAS = "leadbridge-admin"
_EVENTS = (
    "contact.creation, contact.propertyChange (one per property read: at least email, "
    "lifecyclestage, hs_lead_status, hubspotscore, recent_conversion_event_name), "
    "contact.deletion, contact.merge, contact.restore, contact.privacyDeletion"
)


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    setup = commands.add_parser(
        "setup",
        help="make what `leadbridge doctor` finds missing: leadbridge's HubSpot properties "
        "and options, and a Salesforce metadata package to deploy; prints the plan and "
        "writes nothing without --apply",
    )
    setup.add_argument(
        "--apply",
        action="store_true",
        help="do it: create the HubSpot properties and options, write the Salesforce package",
    )
    setup.add_argument(
        "--salesforce-package",
        type=Path,
        default=DEFAULT_PACKAGE,
        metavar="DIR",
        help=f"where the Salesforce metadata package is written (default ./{DEFAULT_PACKAGE})",
    )
    mappings_option(setup)
    connectors_option(setup)
    setup.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return setup(args, os.environ, sys.stdout)


def setup(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    mappings = directory(getattr(args, "mappings", None), "mappings", env)
    connectors = directory(getattr(args, "connectors", None), "connectors", env)
    apply = bool(getattr(args, "apply", False))
    package: Path = getattr(args, "salesforce_package", None) or DEFAULT_PACKAGE
    found = gather(mappings, connectors, env)
    planned = plan(found)
    for check in planned.stoppers:
        out.write(f"✗ {check.group} {check.name}: {check.detail}\n    fix: {check.fix}\n")
    failures = [f"{c.group} {c.name}" for c in planned.stoppers]
    failures += _hubspot(found, planned, apply, out)
    _salesforce(found, planned, package, apply, out)
    _manual(found, planned, package, env, out)
    if failures:
        out.write(f"setup failed: {'; '.join(failures)}\n")
        return _FAILED
    if not apply:
        out.write("Nothing was written: run `leadbridge setup --apply` to do the steps marked +.\n")
    else:
        out.write("Done: every step leadbridge can take was taken; the rest is listed above.\n")
    return _OK


def _hubspot(found: Found, planned: Plan, apply: bool, out: TextIO) -> list[str]:
    out.write("HubSpot\n")
    if found.hubspot.token is None:
        out.write("  nothing can be done until the token works (see above)\n")
        return []
    if not planned.hubspot_actions:
        if not planned.blocked:
            out.write("  nothing to create: leadbridge's properties and options exist\n")
        else:
            out.write("  nothing can be created yet (see the steps left below)\n")
        return []
    if not apply:
        for name, label in planned.create.items():
            out.write(f'  + create contact property {name}: single-line text, "{label}"\n')
        for name, values in planned.options.items():
            out.write(f"  + add {', '.join(values)} to the options of {name}\n")
        return []
    done, failures = apply_hubspot(found.hubspot_settings, planned)
    for line in done:
        out.write(f"  ✓ {line}\n")
    for line in failures:
        out.write(f"  ✗ {line}\n")
    return [f"HubSpot {line}" for line in failures]


def _salesforce(found: Found, planned: Plan, directory: Path, apply: bool, out: TextIO) -> None:
    out.write("Salesforce\n")
    package = planned.package
    if found.salesforce.login_failure is not None or found.salesforce.wrong_org:
        out.write("  nothing can be done until the login works (see above)\n")
        return
    if package.empty:
        out.write("  nothing to deploy: the fields, values and access leadbridge needs exist\n")
        return
    mark = "✓ wrote" if apply else "+ write"
    out.write(f"  {mark} a metadata package to {directory}/ (deploy it: steps left below):\n")
    for custom in package.fields:
        out.write(f"      custom field {custom.object}.{custom.name}: {custom.describe()}\n")
    if package.lead_statuses:
        new = [s.value for s in package.lead_statuses if s.value not in _existing(found)]
        out.write(
            f"      Lead Status values {', '.join(new)} (the StandardValueSet LeadStatus "
            f"with the {len(package.lead_statuses) - len(new)} values the org has; "
            "none of the new ones converted)\n"
        )
    editable = sorted(name for name, edit in package.field_access.items() if edit)
    readable = sorted(name for name, edit in package.field_access.items() if not edit)
    out.write(
        f"      permission set {metadata.PERMISSION_SET}: objects "
        f"{', '.join(a.object for a in package.objects)}; Edit {', '.join(editable) or '-'}; "
        f"Read {', '.join(readable) or '-'}\n"
    )
    if apply:
        metadata.write(package, directory)


def _existing(found: Found) -> set[str]:
    lead = found.salesforce.objects.get("Lead")
    status = getattr(lead, "fields", {}).get("Status")
    return set(status.options) if status is not None else set()


def _manual(
    found: Found, planned: Plan, directory: Path, env: Mapping[str, str], out: TextIO
) -> None:
    steps = list(planned.blocked)
    if not planned.package.empty:
        url = found.salesforce_settings.login_url
        steps.append(
            "Salesforce: deploy the package as an admin with the Salesforce CLI: "
            f"`sf org login web --instance-url {url} --alias {_ORG_ALIAS}`, "
            f"then `cd {directory} && sf project deploy start --source-dir force-app "
            f"--target-org {_ORG_ALIAS}`, then `sf org assign permset --name "
            f"{metadata.PERMISSION_SET} --on-behalf-of <the integration user> --target-org "
            f"{_ORG_ALIAS}` (and assign it in the connected app's policies; "
            "docs/setup-salesforce.md section 4)"
        )
    steps += [f"{check.group} {check.name}: {check.fix}" for check in planned.manual]
    public = env.get("LEADBRIDGE_PUBLIC_URL", "").removesuffix("/webhooks/hubspot")
    base = public or "<public url>"
    steps.append(
        "Salesforce (optional, recommended): an Outbound Message on Lead (and Contact, "
        f"Opportunity) sending the field Id to {base}/webhooks/salesforce?token="
        "$SALESFORCE_OUTBOUND_TOKEN, as the integration user, fired by a record-triggered "
        "flow; then SALESFORCE_OUTBOUND_MESSAGES=true (docs/setup-salesforce.md section 6)"
    )
    steps.append(
        f"HubSpot (optional, recommended): webhooks on the private app, target URL "
        f"{base}/webhooks/hubspot, subscriptions {_EVENTS}, activated; then "
        "HUBSPOT_WEBHOOKS=true, HUBSPOT_APP_SECRET and LEADBRIDGE_PUBLIC_URL "
        "(docs/setup-hubspot.md section 4)"
    )
    out.write("Left to do by hand\n")
    for number, step in enumerate(steps, 1):
        out.write(f"  {number}. {step}\n")
