"""Quickstart: a day of e-commerce orders, from a raw CSV export to revenue per day.

    raw_orders -> cleaned_orders -> daily_summary
                       |
                       +-- check: no_negative_amounts (blocking)

`raw_orders` reads `data/orders.csv` as it is. `cleaned_orders` drops the rows a real export
always has (missing or malformed amounts, refunds typed as negative orders, unknown currencies,
broken dates) and converts amounts to one reporting currency with `RatesResource`.
`daily_summary` adds up orders and revenue per day. A blocking check guards `cleaned_orders`: if
a negative amount ever got through, `daily_summary` would not be computed from it.

Run it with `kubedag materialize -f examples/quickstart/definitions.py` (or `make demo`).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import kubedag as dg

ORDERS_CSV = Path(__file__).parent / "data" / "orders.csv"

Order = dict[str, str | float]


class RatesResource(dg.ConfigurableResource):
    """Exchange rates into the reporting currency. A real one would call a rates API; this one
    takes them as config, so a run config file can change them."""

    reporting_currency: str = "EUR"
    rates: dict[str, float] = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}

    def convert(self, amount: float, currency: str) -> float:
        return round(amount * self.rates[currency], 2)


@dg.asset(group_name="sales", owners=["team:data"], kinds=["csv"])
def raw_orders(context: dg.AssetExecutionContext) -> list[dict[str, str]]:
    """Orders exactly as the shop exports them: one dict of strings per CSV row."""
    with ORDERS_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    context.add_output_metadata({"rows": len(rows), "source": str(ORDERS_CSV.name)})
    return rows


def _clean(row: dict[str, str], rates: RatesResource) -> Order | None:
    """The row as a typed order in the reporting currency, or None when it cannot be trusted."""
    try:
        day = date.fromisoformat(row["order_date"])
        amount = float(row["amount"])
    except ValueError:
        return None
    if amount < 0 or row["currency"] not in rates.rates:
        return None
    return {
        "order_id": row["order_id"],
        "day": day.isoformat(),
        "customer": row["customer"],
        "amount": rates.convert(amount, row["currency"]),
    }


@dg.asset(group_name="sales", owners=["team:data"])
def cleaned_orders(
    context: dg.AssetExecutionContext, raw_orders: list[dict[str, str]], rates: RatesResource
) -> list[Order]:
    """Valid orders only, amounts in the reporting currency."""
    cleaned = [order for row in raw_orders if (order := _clean(row, rates)) is not None]
    dropped = len(raw_orders) - len(cleaned)
    context.log.info(f"Dropped {dropped} invalid rows out of {len(raw_orders)}.")
    context.add_output_metadata(
        {"rows": len(cleaned), "dropped": dropped, "currency": rates.reporting_currency}
    )
    return cleaned


@dg.asset_check(asset=cleaned_orders, blocking=True)
def no_negative_amounts(cleaned_orders: list[Order]) -> dg.AssetCheckResult:
    """Refunds are not orders: a negative amount here would distort revenue."""
    negative = [o["order_id"] for o in cleaned_orders if float(o["amount"]) < 0]
    return dg.AssetCheckResult(passed=not negative, metadata={"negative_rows": len(negative)})


@dg.asset(group_name="reporting", owners=["team:data"])
def daily_summary(cleaned_orders: list[Order]) -> dg.Output:
    """Orders and revenue per day, in the reporting currency."""
    days: dict[str, dict[str, float]] = {}
    for order in cleaned_orders:
        totals = days.setdefault(str(order["day"]), {"orders": 0, "revenue": 0.0})
        totals["orders"] += 1
        totals["revenue"] = round(totals["revenue"] + float(order["amount"]), 2)
    summary = dict(sorted(days.items()))
    busiest = max(summary, key=lambda day: summary[day]["revenue"]) if summary else "-"
    revenue = round(sum(totals["revenue"] for totals in summary.values()), 2)
    return dg.Output(
        summary, metadata={"days": len(summary), "revenue": revenue, "busiest_day": busiest}
    )


daily_refresh = dg.define_asset_job("daily_refresh", selection=dg.AssetSelection.all())

defs = dg.Definitions(
    assets=[raw_orders, cleaned_orders, daily_summary],
    asset_checks=[no_negative_amounts],
    resources={"rates": RatesResource()},
    jobs=[daily_refresh],
    schedules=[dg.ScheduleDefinition(job=daily_refresh, cron_schedule="0 6 * * *")],
)
