"""Measure how far xlsx files saved by LibreOffice Calc unpack, against the import budget.

The base-change import rejects a file whose parts unpack to more than
`engine.row_import.max_unpacked_bytes`. This script writes realistic import files of
several sizes and has LibreOffice save them, in the two ways a unit handler makes one:

- template: the hall's template (openpyxl, masked ID numbers) with the new bases typed
  in, opened and saved again as xlsx by Calc;
- csv: a CSV export of a payroll program (Chinese names, full 18-digit ID numbers and
  account numbers as text) opened and saved as xlsx by Calc.

For each file it prints the compressed size, the unpacked size of all parts and the
bytes per cell, which is the unpacked size over rows times template columns. It also
prints the import's limit for that file and whether the engine reads every row back
with its account number intact.

Run it with `.venv/bin/python benchmarks/libreoffice_import_size.py`; it needs
`soffice` on the PATH (Debian: `apt-get install libreoffice-calc-nogui`).
`--keep DIR` keeps the files, `--rows 300,30000` picks the sizes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from connectors.embedded.demo_data import GIVEN, SURNAMES, draw_id_number
from connectors.embedded.masks import mask_id_number
from engine import create_app
from engine.row_import import _first_sheet, max_unpacked_bytes, template_xlsx
from engine.service import RowTable

DEFAULT_ROWS = (300, 3000, 10000, 30000)
SERVICE = "unit-base-change"
TABLE = "employees"
CONVERT_SECONDS = 600


def employees(count: int, seed: int = 20261205) -> list[dict[str, Any]]:
    """Return `count` synthetic employees with the keys of the `unit.employees` rows."""
    rng = random.Random(seed)
    used_ids: set[str] = set()
    rows = []
    for position in range(count):
        birth = dt.date(1962, 1, 1) + dt.timedelta(days=rng.randrange(14000))
        id_number = draw_id_number(rng, used_ids, birth, rng.choice("12"))
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        rows.append(
            {
                "person_account": f"0299{position + 1:08d}",
                "name": rng.choice(SURNAMES) + given,
                "id_number": id_number,
                "id_number_masked": mask_id_number(id_number),
                "base": Decimal(rng.randrange(3000, 18000)).quantize(Decimal("0.01")),
            }
        )
    return rows


def new_base(current: Decimal) -> Decimal:
    """Return a changed base, inside the policy's range of 1,620 to 21,000 yuan."""
    return current + 500


def filled_template(table: RowTable, records: list[dict[str, Any]]) -> bytes:
    """Write the hall's template and type a new base into each row, as a user does."""
    template = template_xlsx(table, records, table.label)
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        row[-1].value = float(new_base(Decimal(str(row[3].value))))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def payroll_csv(table: RowTable, records: list[dict[str, Any]]) -> bytes:
    """Write a CSV with the template's header and full ID numbers."""
    spec = table.row_import
    assert spec is not None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([table.field(name).label for name in spec.template_columns])
    for record in records:
        base = record["base"]
        writer.writerow(
            [
                record["person_account"],
                record["name"],
                record["id_number"],
                f"{base:.2f}",
                f"{new_base(base):.2f}",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def convert(source: Path, output: Path, profile: Path, csv_input: bool) -> Path:
    """Have LibreOffice open `source` and save it as xlsx into the folder `output`."""
    command = [
        "soffice",
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
    ]
    if csv_input:
        # Comma-separated UTF-8 (76) from line 1. Columns 1 to 3 are text (2), so
        # account and ID numbers keep their zeros and digits.
        command.append("--infilter=CSV:44,34,76,1,1/2/2/2/3/2/4/1/5/1")
    command += ["--convert-to", "xlsx", "--outdir", str(output), str(source)]
    subprocess.run(command, check=True, capture_output=True, timeout=CONVERT_SECONDS)
    saved = output / (source.stem + ".xlsx")
    if not saved.exists():
        raise SystemExit(f"LibreOffice wrote no file for {source.name}")
    return saved


def saved_by(content: bytes) -> str:
    """Return the Application named in docProps/app.xml."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        text = archive.read("docProps/app.xml").decode("utf-8")
    start = text.find("<Application>")
    end = text.find("</Application>")
    if start < 0:
        return "?"
    # LibreOffice writes "LibreOffice/7.4.7.2$Linux_X86_64 ..."; keep the version.
    return text[start + len("<Application>") : end].split("$")[0]


def unpacked_size(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return sum(item.file_size for item in archive.infolist())


def rows_read_back(content: bytes, records: list[dict[str, Any]], limit: int) -> bool:
    """Tell whether the engine opens the file and reads every account number as text."""
    sheet = _first_sheet(content, "check.xlsx", limit)
    rows = list(sheet.iter_rows(values_only=True))[1:]
    accounts = [row[0] for row in rows]
    return accounts == [record["person_account"] for record in records]


def measure(table: RowTable, rows: int, folder: Path) -> list[tuple[Any, ...]]:
    spec = table.row_import
    assert spec is not None
    records = employees(rows)
    cells = rows * len(spec.template_columns)
    limit = max_unpacked_bytes(spec)
    profile = folder / "profile"
    sources = {
        "template": (folder / f"template-{rows}.xlsx", filled_template(table, records)),
        "csv": (folder / f"payroll-{rows}.csv", payroll_csv(table, records)),
    }
    results = []
    for kind, (path, content) in sources.items():
        path.write_bytes(content)
        saved_folder = folder / "calc"
        saved_folder.mkdir(exist_ok=True)
        saved = convert(path, saved_folder, profile, csv_input=kind == "csv")
        target = saved_folder / f"{kind}-{rows}-calc.xlsx"
        saved.replace(target)
        data = target.read_bytes()
        unpacked = unpacked_size(data)
        results.append(
            (
                kind,
                rows,
                saved_by(data),
                len(data),
                unpacked,
                unpacked / cells,
                limit,
                unpacked / limit,
                rows_read_back(data, records, limit),
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        default=",".join(str(count) for count in DEFAULT_ROWS),
        help="comma-separated row counts (default %(default)s)",
    )
    parser.add_argument("--keep", type=Path, help="folder to keep the files in")
    arguments = parser.parse_args()
    if shutil.which("soffice") is None:
        raise SystemExit("soffice not found; install libreoffice-calc-nogui")
    counts = [int(text) for text in arguments.rows.split(",")]

    with tempfile.TemporaryDirectory() as scratch:
        folder = arguments.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{Path(scratch) / 'hall.db'}",
                "INSTANCE_PATH": scratch,
            }
        )
        table = app.extensions["hall"].services[SERVICE].table(TABLE)
        version = subprocess.run(
            ["soffice", "--version"], check=True, capture_output=True, text=True
        ).stdout.strip()
        print(f"{version}; Python {sys.version.split()[0]}")
        print(
            "| source | rows | saved by | xlsx bytes | unpacked bytes | bytes a cell "
            "| limit | share of limit | read back |"
        )
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for rows in counts:
            for result in measure(table, rows, folder):
                kind, count, application, size, unpacked, per_cell = result[:6]
                limit, share, read_back = result[6:]
                print(
                    f"| {kind} | {count:,} | {application} | {size:,} | {unpacked:,} "
                    f"| {per_cell:.1f} | {limit:,} | {share:.0%} "
                    f"| {'yes' if read_back else 'NO'} |"
                )


if __name__ == "__main__":
    main()
