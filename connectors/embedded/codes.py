"""Code tables of the core and their Chinese labels."""

from __future__ import annotations

ACTIVE = "01"
SEALED = "02"
FROZEN = "06"

ACCOUNT_STATUS = {
    ACTIVE: "正常",
    SEALED: "封存",
    "03": "合并销户",
    "04": "外部转出销户",
    "05": "提取销户",
    FROZEN: "冻结",
    "99": "其他",
}

UNIT_STATUS = {"01": "正常", "02": "封存", "03": "注销"}

REMITTANCE = "01"
BACK_PAYMENT = "02"
INTEREST = "03"
WITHDRAWAL = "04"
TRANSFER_IN = "05"
TRANSFER_OUT = "06"
OFFSET = "07"
OPENING_BALANCE = "08"

LEDGER_TYPES = {
    REMITTANCE: "汇缴",
    BACK_PAYMENT: "补缴",
    INTEREST: "结息",
    WITHDRAWAL: "提取",
    TRANSFER_IN: "转入",
    TRANSFER_OUT: "转出",
    OFFSET: "冲还贷",
    OPENING_BALANCE: "期初余额",
}

LOAN_REPAYING = "01"
LOAN_SETTLED = "02"
LOAN_STATUS = {LOAN_REPAYING: "还款中", LOAN_SETTLED: "已结清", "03": "逾期"}

SEX = {"1": "男", "2": "女"}

BINDING_LIMIT = {
    "maximum": "最高贷款额度",
    "balance": "账户余额倍数",
    "price": "房价及首付比例",
    "capacity": "还款能力",
}

CHANGE_TYPES = {
    "base": "基数调整",
    "ratio": "比例调整",
    "new": "新增职工",
    "leave": "职工减少",
    "seal": "封存",
    "unseal": "启封",
    "transfer": "转移",
}
