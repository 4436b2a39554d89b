"""A valid post of the personal contract form, shared by the route, fuzz and security tests."""

from failforward.coaching.services import DEFAULT_CONTRACT
from failforward.thresholds.forms import PersonalContractForm
from failforward.thresholds.services import DEFAULT_RULES, PERSONAL_TERMS, RULE_NUMBERS


def personal_contract_form(**overrides) -> dict:
    """The default contract as a form post (every rule on), with `overrides` by field name."""
    data = {name: DEFAULT_CONTRACT[name] for name in PERSONAL_TERMS}
    for kind, values in DEFAULT_RULES.items():
        data[PersonalContractForm.field_of(kind, "active")] = "y"
        for name in (*RULE_NUMBERS[kind], "follow_up", "window_hours"):
            data[PersonalContractForm.field_of(kind, name)] = str(values[name])
    return {**data, **overrides}
