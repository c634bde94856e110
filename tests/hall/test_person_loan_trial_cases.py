"""公积金贷款试算 (person-loan-trial): second-home rates and down payment."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from flask.testing import FlaskClient
from person_support import DEMO_ACCOUNT, card_of
from support import errors_of, login_person, parse, post_form

URL = "/person/person-loan-trial"


def annuity(principal: Decimal, annual_percent: str, months: int) -> Decimal:
    with localcontext() as context:
        context.prec = 50
        rate = Decimal(annual_percent) / 100 / 12
        growth = (1 + rate) ** months
        payment = principal * rate * growth / (growth - 1)
    return payment.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def trial(client: FlaskClient, **changes: str) -> dict[str, str]:
    data = {
        "house_price": "2000000",
        "home": "second",
        "income": "20000",
        "existing_debt": "0",
        "term_years": "20",
        "method": "equal-instalments",
        **changes,
    }
    response = post_form(client, URL, data)
    assert response.status_code == 200, errors_of(response)
    return card_of(response)


def test_second_home_long_rate(client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    card = trial(client)
    assert card["rate"] == "3.075%"
    assert card["loanable_amount"] == "300,000.00"
    assert card["first_payment"] == f"{annuity(Decimal(300000), '3.075', 240):,.2f}"


def test_second_home_short_rate_and_down_payment(client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    # 30% down on a second home leaves 70% of 125,000.
    card = trial(client, house_price="125000", term_years="5")
    assert card["rate"] == "2.525%"
    assert card["limit_price"] == "87,500.00"
    assert card["loanable_amount"] == "87,500.00"
    assert card["first_payment"] == f"{annuity(Decimal(87500), '2.525', 60):,.2f}"


def test_chart_of_principal_and_interest(client: FlaskClient) -> None:
    login_person(client, DEMO_ACCOUNT)
    data = {
        "house_price": "2000000",
        "home": "first",
        "income": "20000",
        "existing_debt": "0",
        "term_years": "20",
        "method": "equal-instalments",
    }
    response = post_form(client, URL, data)
    chart = parse(response).select_one("#result svg.chart")
    assert chart is not None
    lines = chart.select("polyline")
    assert [line.title.get_text() for line in lines] == [
        "每月本金（元）",
        "每月利息（元）",
    ]
    # One point per month of the 240-month schedule.
    assert all(len(line["points"].split()) == 240 for line in lines)
    # Principal grows and interest falls over an equal-instalment loan: a smaller y
    # coordinate is higher on the chart.
    principal = [float(point.split(",")[1]) for point in lines[0]["points"].split()]
    interest = [float(point.split(",")[1]) for point in lines[1]["points"].split()]
    assert principal[-1] < principal[0]
    assert interest[-1] > interest[0]
    legend = [text.get_text() for text in chart.select("text")]
    assert "每月本金（元）" in legend
    assert "每月利息（元）" in legend
