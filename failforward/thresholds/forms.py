"""The learner's own contract: the glossary and commitments of a coaching contract, and its rules."""

from wtforms import BooleanField, RadioField
from wtforms.validators import InputRequired, NumberRange

from failforward.coaching.forms import ContractForm
from failforward.forms import WholeNumberField, choices
from failforward.thresholds.models import FOLLOW_UP_KINDS, RULE_KINDS
from failforward.thresholds.services import MAX_DAYS, PERSONAL_TERMS, RULE_NUMBERS

# Each number a rule may carry: its label and the range a person may pick.
NUMBERS = {
    "count": ("How many", 1, 20),
    "days": ("Within how many days", 1, MAX_DAYS),
    "intensity": ("Intensity (0 to 10) at least", 0, 10),
    "window_hours": ("Write it within (hours)", 1, 336),
}


def _number(name: str) -> WholeNumberField:
    label, low, high = NUMBERS[name]
    return WholeNumberField(label, validators=[InputRequired("Enter a number."),
                                               NumberRange(low, high, f"Pick a number from {low} to {high}.")],
                            render_kw={"inputmode": "numeric", "min": low, "max": high})


class PersonalContractForm(ContractForm):
    """The glossary, the thresholds in words, the commitments, and per rule: on or off, its numbers,
    what it asks for and how soon. Rule fields are named `<kind>_<field>` (see `field_of`)."""

    feedback_due_hours = None  # a coaching link's term: no one answers feedback on a personal contract

    @staticmethod
    def field_of(kind: str, name: str) -> str:
        return f"{kind.replace('-', '_')}_{name}"

    def rule_fields(self, kind: str) -> list:
        """The fields of one rule, for the template, in order."""
        names = ("active", *RULE_NUMBERS[kind], "follow_up", "window_hours")
        return [self[self.field_of(kind, name)] for name in names]

    def terms(self) -> dict:
        return {name: self[name].data for name in PERSONAL_TERMS}

    def rules(self) -> dict[str, dict]:
        """Each rule's values by kind, for the service."""
        return {kind: {name: self[self.field_of(kind, name)].data if name != "active"
                       else bool(self[self.field_of(kind, name)].data)
                       for name in ("active", *RULE_NUMBERS[kind], "follow_up", "window_hours")}
                for kind in RULE_KINDS}

    @classmethod
    def for_page(cls, page) -> "PersonalContractForm":
        """The form filled from the contract and its rules."""
        data = {name: getattr(page.contract, name) for name in PERSONAL_TERMS}
        for rule in page.rules:
            for name in ("active", *RULE_NUMBERS[rule.kind], "follow_up", "window_hours"):
                data[cls.field_of(rule.kind, name)] = getattr(rule, name)
        return cls(data=data)


for _kind in RULE_KINDS:
    setattr(PersonalContractForm, PersonalContractForm.field_of(_kind, "active"), BooleanField("This rule is on"))
    for _name in (*RULE_NUMBERS[_kind], "window_hours"):
        setattr(PersonalContractForm, PersonalContractForm.field_of(_kind, _name), _number(_name))
    setattr(PersonalContractForm, PersonalContractForm.field_of(_kind, "follow_up"), RadioField(
        "It asks for", choices=choices(FOLLOW_UP_KINDS.items()), validators=[InputRequired("Pick one.")]))
