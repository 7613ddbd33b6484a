"""No US or Russian intermediate-range land-based missiles in Europe (a new "zero option").

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, register


@register
class ZeroOption(Measure):
    """Intermediate-range missile forces leave the theatre, and with them the minutes-long warning time."""

    name = "zero_option"
    title = 'No intermediate-range missiles in Europe ("zero option")'
    source = "000 rec. 6"
    mechanism = (
        "Activity and time: forces of kind intermediate_range_missile are withdrawn from the "
        "theatre, so a leadership facing a use of force no longer has to decide within the "
        "missiles' warning time (missile_warning_h) and its calls can arrive before it decides; "
        "in a scenario without such forces (the Baltic air-policing month, the Black Sea) it has "
        "no channel and no effect."
    )
    limits = (
        "Zero in every scenario without forces of kind intermediate_range_missile (none of the library's "
        "ten has them; tests/test_catalogue.py adds one to show the mechanism). It cannot be negative "
        "through decision time, but more time also lets calls that carry warnings and threats arrive."
    )
    passage = (
        "Russia and NATO could immediately agree to launch negotiations on a new zero option for "
        "the deployment in Europe of US and Russian intermediate-range land-based missiles and "
        "their launchers."
    )

    @dataclass(frozen=True)
    class Params:
        """Zero-option parameters (conf/measures/catalogue/zero_option.yaml)."""

        kinds: list[str]

    @override
    def withdraws(self, model, force):
        return force.kind in self.params.kinds
