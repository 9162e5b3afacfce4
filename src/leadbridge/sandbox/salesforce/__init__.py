"""The simulated Salesforce org: OAuth, REST (SOQL, sObjects, collections), Outbound Messages.

`SalesforceSim` is the whole org; `.state` its records, `.rep` a sales rep
working in it, `.faults` what goes wrong on demand.
"""

from leadbridge.sandbox.salesforce.conversion import Converted
from leadbridge.sandbox.salesforce.errors import SfError
from leadbridge.sandbox.salesforce.people import SalesRep
from leadbridge.sandbox.salesforce.sim import SalesforceSim
from leadbridge.sandbox.salesforce.state import OrgState

__all__ = ["Converted", "OrgState", "SalesRep", "SalesforceSim", "SfError"]
