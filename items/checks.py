from django.conf import settings
from django.core.checks import Error, register

from items.limits import Rate


@register()
def rates_are_readable(app_configs, **kwargs):
    """A rate that cannot be read would fail every log-in or download: say so at start-up."""
    rates = {"ITEMS_RATE_DOWNLOAD": settings.ITEMS_RATE_DOWNLOAD}
    for scope, limits in settings.ITEMS_RATES.items():
        for whose, rate in limits.items():
            rates[f"ITEMS_RATES[{scope!r}][{whose!r}]"] = rate
    rates["HEALTHZ_RATE"] = settings.HEALTHZ_RATE  # /healthz is limited the same way
    problems = []
    for name, rate in rates.items():
        try:
            Rate.parse(rate)
        except ValueError as error:
            problems.append(Error(f"{name}: {error}", id="items.E001"))
    return problems
