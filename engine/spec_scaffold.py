"""Write a commented starting spec of each kind that passes `hall specs check`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

KINDS = ("query", "apply", "calc", "print")

# The menu group a new service of each kind goes into until the analyst changes it.
GROUPS = {
    "query": "查询业务",
    "apply": "办理业务",
    "calc": "试算业务",
    "print": "打印业务",
}

# Connector operations of the embedded core that each starting spec calls, so the
# check passes at once. The query, calc and print ones answer any logged-in caller
# of their hall; the analyst replaces each with the operation the service needs.
OPERATIONS = {
    ("unit", "query"): "unit.employees",
    ("person", "query"): "person.account",
    ("unit", "calc"): "unit.profile",
    ("person", "calc"): "person.account",
    ("unit", "apply"): "account.open",
    ("person", "apply"): "person.base_change",
    ("unit", "print"): "unit.profile",
    ("person", "print"): "person.account",
}

ID_PATTERN = re.compile(r"^(unit|person)-[a-z0-9]+(-[a-z0-9]+)*$")

_HEADER = """\
# {title}: a new service of the {hall} hall, started by `hall specs new`.
# Every key is described in docs/specs.md. Check the file with `hall specs check`;
# each finding names its line, what is wrong and what to write instead.

# The id is the file name without .yaml and the last part of the page's address.
id: {spec_id}
# Raise the version whenever the form changes; each application records it.
version: 1
title: {quoted_title}
hall: {hall}
kind: {kind}
# The menu heading the service is listed under, and its place: smaller comes first.
menu:
  group: {group}
  order: {order}
description: 在这里用一两句话说明本业务的用途和办理条件。
"""

_QUERY_UNIT = """
# This query has no inputs. Add `fields:` (as in an apply spec) when the operation
# takes some; the query then runs when the person presses the query button.

# The operation that answers the query, and how its rows are shown.
result:
  operation: {operation}
  # Run the query once when the page opens, before any input.
  on-load: true
  table:
    columns:
      - {{name: person_account, label: 个人账号, type: code}}
      - {{name: name, label: 姓名}}
      - {{name: base, label: 缴存基数（元）, type: money}}
      - {{name: unit_deposit, label: 单位月缴存额（元）, type: money}}
      - {{name: person_deposit, label: 个人月缴存额（元）, type: money}}
    sort: person_account
    page-size: 20
    # Offer Excel and CSV downloads of all rows.
    export: true
"""

_QUERY_PERSON = """
# The operation that answers the query; a card shows one record as label: value.
result:
  operation: {operation}
  # Run the query once when the page opens, before any input.
  on-load: true
  card:
    - {{name: person_account, label: 个人账号, type: code}}
    - {{name: name, label: 姓名}}
    - {{name: base, label: 缴存基数（元）, type: money}}
    - {{name: balance, label: 账户余额（元）, type: money}}
"""

_CALC = """
# Inputs, and fields the calculations fill. A calculated field is read-only.
fields:
  - name: amount
    type: money
    label: 金额（元）
    required: true
    checks:
      min: 0
      max: 1000000
  - name: months
    type: number
    label: 月数
    required: true
    default: 12
    checks:
      min: 1
      max: 360
  - name: monthly
    type: money
    label: 每月金额（元）
    read-only: true

# Each calculation fills its target from an expression over the other fields.
# round_half_up(x, 2) rounds to fen; policy.NAME reads a figure of policy.yaml.
calculations:
  - target: monthly
    expression: amount / months
    places: 2

# The operation whose answer is shown under the form.
result:
  operation: {operation}
  card:
    - {{name: name, label: 名称}}
"""

_APPLY = """
# The form. Each field has a name (lower-case letters, digits, _), a type and a label.
fields:
  - name: reason
    type: choice
    label: 申请事由
    required: true
    choices:
      - {{value: "01", label: 信息变更}}
      - {{value: "99", label: 其他}}
  - name: reason_text
    type: textarea
    label: 其他事由说明
    # The field is shown only while this expression is true.
    visible-when: "reason == '99'"
    checks:
      max-length: 200
  - name: amount
    type: money
    label: 金额（元）
    required: true
    checks:
      min: 0.01
      max: 1000000
      places: 2

# Files the applicant uploads; state the types, size and count the centre accepts.
attachments:
  - kind: proof
    label: 证明材料
    required: true
    types: [pdf, jpeg, png]
    max-size-kb: 5120
    max-count: 5

# Text the applicant must accept before submitting.
agreement:
  title: 承诺书
  text: 本人承诺所填信息真实准确，如有虚假愿承担相应责任。

# The connector operation that receives the application after review.
submit:
  operation: {operation}
  success-message: 申请已提交，请等待中心审核。
"""

_PRINT = """
# The operation that returns the data, and the template that lays it out.
print:
  operation: {operation}
  template: {spec_id}.html
"""

_BODIES = {
    ("unit", "query"): _QUERY_UNIT,
    ("person", "query"): _QUERY_PERSON,
    ("unit", "calc"): _CALC,
    ("person", "calc"): _CALC,
    ("unit", "apply"): _APPLY,
    ("person", "apply"): _APPLY,
    ("unit", "print"): _PRINT,
    ("person", "print"): _PRINT,
}

PRINT_TEMPLATE = """\
{#- The print page passes `data`, the answer of the spec's print operation. -#}
<h1>{{ title }}</h1>
<p>{{ data.name }}</p>
"""


class ScaffoldError(ValueError):
    """A starting spec cannot be written as requested."""


def starting_spec(spec_id: str, hall: str, kind: str, *, title: str, order: int) -> str:
    """Return the text of a commented starting spec of `kind` in `hall`."""
    if not ID_PATTERN.match(spec_id):
        raise ScaffoldError(
            f"the id {spec_id!r} is invalid; write lower-case words joined by "
            f"hyphens that start with the hall, such as {hall}-employee-list"
        )
    if not spec_id.startswith(f"{hall}-"):
        raise ScaffoldError(
            f"the id {spec_id!r} must start with '{hall}-' for a service of the "
            f"{hall} hall"
        )
    if not title.strip() or len(title) > 40:
        raise ScaffoldError(
            f"the title {title!r} is invalid; give --title with 1 to 40 characters"
        )
    values = {
        "quoted_title": json.dumps(title, ensure_ascii=False),
        "spec_id": spec_id,
        "hall": hall,
        "kind": kind,
        "title": title,
        "group": GROUPS[kind],
        "order": order,
        "operation": OPERATIONS[(hall, kind)],
    }
    return _HEADER.format(**values) + _BODIES[(hall, kind)].format(**values)


def next_menu_order(folder: Path) -> int:
    """Return an order after every service already in `folder`, in steps of ten."""
    orders = [0]
    for path in folder.glob("*.yaml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        menu = data.get("menu") if isinstance(data, dict) else None
        order = menu.get("order") if isinstance(menu, dict) else None
        if isinstance(order, int):
            orders.append(order)
    return (max(orders) // 10 + 1) * 10
