"""Describe each endpoint a service has as OpenAPI 3.1 path items, from its spec.

The routes live in engine/views.py (service pages, htmx fragments, applications),
engine/account_pages.py, engine/public.py (services without a login),
engine/printing.py (certificates and /verify), engine/import_pages.py (the xlsx
import of a row table) and engine/auth.py (the SMS code of a service). Each
builder here mirrors one of those routes: its method, the inputs a browser posts
and the status codes and media types the route returns.
"""

from __future__ import annotations

from typing import Any

from engine.attachments import TYPES as ATTACHMENT_TYPES
from engine.downloads import attachment_disposition
from engine.forms import PAGE_INPUT
from engine.import_pages import FILE_INPUT
from engine.service import RowTable, Service
from engine.stored_rows import PAGE_PARAMETER_PREFIX, ROWS_PER_PAGE

HTML = "text/html"
PDF = "application/pdf"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

_TEXT = {"type": "string"}
_BINARY = {"type": "string", "format": "binary"}
_INDEX = {"type": "string", "pattern": "^[0-9]{1,4}$"}
# An application number, such as U20261204000001: a letter, then digits.
_NUMBER = {"type": "string", "pattern": "^[A-Z][0-9]{1,19}$"}
_DRAFT_TOKEN = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,43}$"}
_ID = {"type": "integer", "minimum": 1}

# The security requirement of an endpoint that needs no login.
NO_LOGIN: list[dict[str, list[str]]] = []


def response(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def components() -> dict[str, Any]:
    """Return the security scheme, the CSRF field and the responses shared by paths."""
    html = {HTML: {"schema": _TEXT}}
    location = {"Location": {"required": True, "schema": _TEXT}}
    return {
        "securitySchemes": {
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "The signed session cookie that logging into the "
                "unit hall or the person hall sets; it expires after 30 minutes "
                "without a request.",
            }
        },
        "schemas": {
            "CsrfToken": {
                "type": "string",
                "minLength": 1,
                "description": "The csrf_token of the page's form, bound to the "
                "session. htmx requests also send it as the X-CSRFToken header; "
                "when the form field is present, the field is checked.",
            }
        },
        "responses": {
            "Page": {"description": "The HTML page.", "content": html},
            "Fragment": {
                "description": "An HTML fragment that htmx swaps into the page.",
                "content": html,
            },
            "Invalid": {
                "description": "The inputs have errors, listed on the page, or the "
                "CSRF token is missing or invalid.",
                "content": html,
            },
            "LoginRedirect": {
                "description": "No live session of the hall: a redirect to its "
                "login page.",
                "headers": location,
            },
            "Redirect": {"description": "A redirect.", "headers": location},
            "HtmxLogin": {
                "description": "No live session on an htmx request: the HX-Redirect "
                "header names the login page.",
                "headers": {"HX-Redirect": {"required": True, "schema": _TEXT}},
            },
            "NotFound": {
                "description": "No such record, or it belongs to another unit or "
                "person.",
                "content": html,
            },
            "TooLarge": {
                "description": "The upload or the number of form parts is over the "
                "limit.",
                "content": html,
            },
            "Throttled": {
                "description": "Too many attempts from this address or for this "
                "subject; try again later.",
                "content": html,
            },
            "Unavailable": {
                "description": "The core system failed; try again later.",
                "content": html,
            },
        },
    }


def form_body(schema: dict[str, Any], multipart: bool = False) -> dict[str, Any]:
    """Describe a posted form, with the CSRF token, as the browser encodes it."""
    properties = {"csrf_token": {"$ref": "#/components/schemas/CsrfToken"}}
    properties.update(schema.get("properties", {}))
    body = dict(schema, properties=properties)
    body["required"] = ["csrf_token", *schema.get("required", [])]
    content: dict[str, Any] = {FORM: {"schema": body}}
    if multipart:
        # The service form has enctype multipart/form-data, so that files go along.
        content = {MULTIPART: {"schema": body}, FORM: {"schema": body}}
    return {"required": True, "content": content}


def with_inputs(
    form: dict[str, Any],
    properties: dict[str, Any],
    required: list[str] | None = None,
    fields_required: bool = True,
) -> dict[str, Any]:
    """Add engine inputs to the schema of a service's own inputs."""
    schema = dict(form, properties={**form["properties"], **properties})
    schema["required"] = [
        *(form.get("required", []) if fields_required else []),
        *(required or []),
    ]
    return schema


def operation(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    **details: Any,
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        **details,
        "responses": responses,
    }


def path_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query_parameters(
    form: dict[str, Any], required: bool = True
) -> list[dict[str, Any]]:
    """Describe a service's inputs as query parameters, as a GET form sends them."""
    names = set(form.get("required", [])) if required else set()
    return [
        {"name": name, "in": "query", "required": name in names, "schema": schema}
        for name, schema in form["properties"].items()
    ]


def _alternatives(words: list[str]) -> str:
    return "|".join(words) if words else "(?!)"


# Query and calc services ------------------------------------------------------------


def query_paths(service: Service, base: str, form: dict[str, Any]) -> dict[str, Any]:
    """Describe a query page: its inputs, result paging and sorting, and export."""
    result = service.result
    columns = result.table_columns if result else []
    sortable = [column.name for column in columns if column.sortable]
    paging = [
        {
            "name": "page",
            "in": "query",
            "description": "Page of the result table, from 1.",
            "schema": {"type": "string", "pattern": "^[0-9]{1,6}$"},
        },
        {
            "name": "sort",
            "in": "query",
            "description": "Column to sort the result table by.",
            "schema": {"type": "string", "enum": sortable} if sortable else _TEXT,
        },
        {
            "name": "dir",
            "in": "query",
            "schema": {"type": "string", "enum": ["asc", "desc"]},
        },
    ]
    run = {
        "name": "run",
        "in": "query",
        "description": "Present when the form was sent; without it the blank form "
        "shows, with the result of an on-load query.",
        "schema": {"type": "string", "enum": ["1"]},
    }

    answers = {
        "200": response("Page"),
        "302": response("LoginRedirect"),
        "400": response("Invalid"),
    }
    post_inputs = {
        "page": paging[0]["schema"],
        "sort": paging[1]["schema"],
        "dir": paging[2]["schema"],
    }

    paths: dict[str, Any] = {
        base: {
            "get": operation(
                f"{service.id}-page",
                f"{service.title}: the form, and the result when run=1",
                answers,
                parameters=[run, *paging, *query_parameters(form)],
            ),
            "post": operation(
                f"{service.id}-run",
                f"{service.title}: the result of the posted inputs",
                answers,
                requestBody=form_body(with_inputs(form, post_inputs)),
            ),
        }
    }
    if result and columns and result.export:
        paths.update(_export_paths(service, base, form))
    return paths


def _export_paths(service: Service, base: str, form: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for extension, media_type in (("csv", CSV), ("xlsx", XLSX)):
        disposition = attachment_disposition(
            f"{service.title}.{extension}", f"{service.id}.{extension}"
        )
        download = {
            "description": f"Every row of the result as {extension}, sorted as the "
            "spec says.",
            "headers": {
                "Content-Disposition": {
                    "required": True,
                    "description": "The file is named after the service title, "
                    "percent-encoded in filename*, and after the service id in "
                    "filename for clients that do not read filename*.",
                    "schema": {"enum": [disposition]},
                }
            },
            "content": {media_type: {"schema": _BINARY}},
        }
        answers = {
            "200": download,
            "302": response("LoginRedirect"),
            "400": response("Invalid"),
            "503": response("Unavailable"),
        }
        paths[f"{base}/export.{extension}"] = {
            "get": operation(
                f"{service.id}-export-{extension}",
                f"{service.title}: all rows as {extension}",
                answers,
                parameters=query_parameters(form),
            )
        }
    return paths


# Application and account services ---------------------------------------------------


def _actions(service: Service) -> dict[str, Any]:
    """Describe `_action`, the name of a no-JavaScript button of the service form."""
    tables = _alternatives([table.name for table in service.rows])
    choices = ["edit"]
    if service.verification == "sms":
        choices.append("send_code")
    if service.rows:
        choices += [
            f"add_row:({tables})",
            f"remove_row:({tables}):[0-9]{{1,4}}",
            f"page:({tables}):[0-9]{{1,5}}",
        ]
    if service.attachments:
        choices.append("remove_attachment:[0-9]{1,9}")
    return {
        "type": "string",
        "description": "The button pressed: edit a draft again, send the SMS code, "
        "add or remove a row, show a page of a row table, or remove an attachment. "
        "Absent when the form is submitted for review.",
        "pattern": f"^(?:{'|'.join(choices)})$",
    }


def extra_inputs(service: Service) -> dict[str, Any]:
    """Describe the engine's own inputs of a service form: agreement and SMS code."""
    inputs: dict[str, Any] = {}
    if service.agreement:
        inputs["_agree"] = {
            "type": "string",
            "enum": ["on"],
            "description": "The agreement box, which must be ticked.",
        }
    if service.verification == "sms":
        inputs["_sms_code"] = {
            "type": "string",
            "pattern": "^[0-9]{6}$",
            "description": "The SMS code sent to the registered mobile.",
        }
    return inputs


def _form_pages_and_files(service: Service) -> dict[str, Any]:
    """Describe the page shown of each paged row table and the attachment inputs."""
    inputs: dict[str, Any] = {}
    for table in service.rows:
        if table.page_size:
            inputs[f"{PAGE_INPUT}{table.name}"] = {
                "type": "string",
                "pattern": "^[0-9]{1,5}$",
                "description": f"The page of {table.name} that the form shows.",
            }
    for kind in service.attachments:
        inputs[kind.kind] = {**_BINARY, "description": kind.label}
    return inputs


def apply_paths(service: Service, base: str, form: dict[str, Any]) -> dict[str, Any]:
    """Describe the form of an application, its review step and its confirmation."""
    inputs: dict[str, Any] = {
        "_action": _actions(service),
        "_draft": {
            "description": "The draft of this form, which holds its attachments.",
            **_DRAFT_TOKEN,
        },
        **extra_inputs(service),
    }
    inputs.update(_form_pages_and_files(service))
    page_answers = {"200": response("Page"), "302": response("LoginRedirect")}
    submit_answers = {
        "200": {
            "description": "The review page of the checked inputs, or the form again "
            "after a button that adds or removes a row or an attachment.",
            "content": {HTML: {"schema": _TEXT}},
        },
        "302": response("LoginRedirect"),
        "400": response("Invalid"),
        "413": response("TooLarge"),
    }
    confirm_answers = {
        "302": {
            "description": "Confirmed, or confirmed by an earlier click: a redirect "
            "to the application's page.",
            "headers": {"Location": {"required": True, "schema": _TEXT}},
        },
        "400": response("Invalid"),
        "404": response("NotFound"),
    }
    confirm_body = {
        "type": "object",
        "properties": {"_draft": _DRAFT_TOKEN},
        "required": ["_draft"],
    }
    review_parameters = [
        path_parameter("token", _DRAFT_TOKEN),
        *_stored_row_pages(service),
    ]
    return {
        base: {
            "get": operation(f"{service.id}-page", service.title, page_answers),
            "post": operation(
                f"{service.id}-submit",
                f"{service.title}: check the inputs and show them for review",
                submit_answers,
                requestBody=form_body(with_inputs(form, inputs), multipart=True),
            ),
        },
        f"{base}/confirm": {
            "post": operation(
                f"{service.id}-confirm",
                f"{service.title}: confirm the reviewed draft as an application",
                confirm_answers,
                requestBody=form_body(confirm_body),
            )
        },
        f"{base}/drafts/{{token}}/review": {
            "get": operation(
                f"{service.id}-draft-review",
                f"{service.title}: the review page of one's own checked draft, "
                "at the requested page of each row table",
                _draft_review_answers(service),
                parameters=review_parameters,
            )
        },
    }


def _stored_row_pages(service: Service) -> list[dict[str, Any]]:
    """Describe the query parameters that pick the shown page of each row table."""
    return [
        {
            "name": f"{PAGE_PARAMETER_PREFIX}{table.name}",
            "in": "query",
            "description": f"The page of {table.name}, {ROWS_PER_PAGE} rows each, "
            "from 1. A missing or invalid number shows the first page, and a "
            "number past the end shows the last page.",
            "schema": {"type": "string", "pattern": "^[0-9]{1,6}$"},
        }
        for table in service.rows
    ]


def _draft_review_answers(service: Service) -> dict[str, Any]:
    answers = {
        "200": response("Page"),
        "302": {
            "description": "The draft was confirmed: a redirect to the "
            "application's page. Or no live session: a redirect to login.",
            "headers": {"Location": {"required": True, "schema": _TEXT}},
        },
        "404": {
            "description": "No checked draft of this service with this token, or "
            "it belongs to another unit or person.",
            "content": {HTML: {"schema": _TEXT}},
        },
    }
    if service.result is not None:
        answers["400"] = {
            "description": "The trial run of the stored inputs failed: the form "
            "again, with the core's message.",
            "content": {HTML: {"schema": _TEXT}},
        }
    return answers


def account_paths(service: Service, base: str, form: dict[str, Any]) -> dict[str, Any]:
    """Describe an account service, whose operation runs at once after the checks."""
    inputs = dict(extra_inputs(service))
    if service.verification == "sms":
        inputs["_action"] = {"type": "string", "enum": ["send_code"]}
    answers = {
        "200": {
            "description": "Done, with the spec's success message, or the code sent.",
            "content": {HTML: {"schema": _TEXT}},
        },
        "302": response("LoginRedirect"),
        "400": response("Invalid"),
        "413": response("TooLarge"),
        "503": response("Unavailable"),
    }
    return {
        base: {
            "get": operation(
                f"{service.id}-page",
                service.title,
                {"200": response("Page"), "302": response("LoginRedirect")},
            ),
            "post": operation(
                f"{service.id}-submit",
                f"{service.title}: check the inputs, then carry out the service",
                answers,
                requestBody=form_body(with_inputs(form, inputs), multipart=True),
            ),
        }
    }


def public_paths(service: Service, form: dict[str, Any]) -> dict[str, Any]:
    """Describe a service without a login, filled in over its steps."""
    last = max(len(service.steps) - 1, 0)
    inputs = {
        "_step": {
            "type": "string",
            "pattern": "^[0-9]{1,3}$",
            "description": f"The step the form shows, from 0 to {last}.",
        },
        "_action": {"type": "string", "enum": ["back", "send_code"]},
        **extra_inputs(service),
    }
    answers = {
        "200": {
            "description": "The next step, the code sent (the same notice whether "
            "or not the details match), or done.",
            "content": {HTML: {"schema": _TEXT}},
        },
        "400": response("Invalid"),
        "413": response("TooLarge"),
        "429": response("Throttled"),
        "503": response("Unavailable"),
    }
    return {
        f"/{service.hall}/public/{service.id}": {
            "get": operation(
                f"{service.id}-page",
                service.title,
                {"200": response("Page")},
                security=NO_LOGIN,
            ),
            "post": operation(
                f"{service.id}-submit",
                f"{service.title}: check this step, or carry out the service",
                answers,
                security=NO_LOGIN,
                requestBody=form_body(
                    with_inputs(form, inputs, ["_step"], fields_required=False)
                ),
            ),
        }
    }


# htmx fragments ---------------------------------------------------------------------


def fragment_answers(*extra: str) -> dict[str, Any]:
    answers = {
        "200": response("Fragment"),
        "302": response("LoginRedirect"),
        "401": response("HtmxLogin"),
        "400": response("Invalid"),
    }
    for status, name in (("404", "NotFound"), ("413", "TooLarge")):
        if status in extra:
            answers[status] = response(name)
    return answers


def calculation_paths(
    service: Service, base: str, form: dict[str, Any]
) -> dict[str, Any]:
    """Describe the live recalculation a change of a triggering field runs."""
    fields = [*service.fields, *(item for t in service.rows for item in t.fields)]
    if not any(item.triggers_calculation for item in fields):
        return {}
    inputs = {
        "_table": {
            "type": "string",
            "enum": [table.name for table in service.rows] or [""],
            "description": "The row table of the changed input, if any.",
        },
        "_row": {**_INDEX, "description": "The row of the changed input."},
    }
    return {
        f"{base}/calc": {
            "post": operation(
                f"{service.id}-calc",
                "Recalculate the calculated fields and redraw the conditional ones",
                fragment_answers(),
                requestBody=form_body(with_inputs(form, inputs, fields_required=False)),
            )
        }
    }


def lookup_paths(service: Service, base: str, form: dict[str, Any]) -> dict[str, Any]:
    """Describe the endpoint of each lookup, which the page runs when a field changes.

    Lookups without a trigger run inside the page's own requests, but their
    endpoint responds all the same, so it is described too.
    """
    paths: dict[str, Any] = {}
    tables: list[tuple[RowTable | None, Any]] = [(None, service.lookups)]
    tables += [(table, table.lookups) for table in service.rows]
    for table, lookups in tables:
        for lookup in lookups:
            inputs: dict[str, Any] = {}
            required: list[str] = []
            if table is not None:
                inputs["_row"] = {**_INDEX, "description": f"The row of {table.name}."}
                required = ["_row"]
            body = with_inputs(form, inputs, required, fields_required=False)
            paths[f"{base}/lookup/{lookup.name}"] = {
                "post": operation(
                    f"{service.id}-lookup-{lookup.name}",
                    f"Run the lookup {lookup.name} and fill in what it finds",
                    fragment_answers(),
                    requestBody=form_body(body),
                )
            }
    return paths


def row_paths(service: Service, base: str, form: dict[str, Any]) -> dict[str, Any]:
    """Describe adding and removing a row of each row table."""
    paths: dict[str, Any] = {}
    for table in service.rows:
        add_answers = fragment_answers()
        add_answers["200"] = {
            "description": "The new row, or the table's error when it is full.",
            "content": {HTML: {"schema": _TEXT}},
        }
        added = "rows come from the core" if not table.editable else "it is full"
        paths[f"{base}/rows/{table.name}/add"] = {
            "post": operation(
                f"{service.id}-rows-{table.name}-add",
                f"Add a row to {table.name} (400 when {added})",
                add_answers,
                requestBody=form_body(with_inputs(form, {}, fields_required=False)),
            )
        }
        remove_inputs = {"_row": {**_INDEX, "description": "The row to remove."}}
        paths[f"{base}/rows/{table.name}/remove"] = {
            "post": operation(
                f"{service.id}-rows-{table.name}-remove",
                f"Remove a row of {table.name} and redraw the totals",
                fragment_answers(),
                requestBody=form_body(
                    with_inputs(form, remove_inputs, ["_row"], fields_required=False)
                ),
            )
        }
    return paths


def import_paths(service: Service, base: str, form: dict[str, Any]) -> dict[str, Any]:
    """Describe the template download and the file upload of each importing table.

    Only a row table whose spec has `import` gets the two paths. The upload button
    posts the whole service form to the import path, so the body has the form's
    inputs, its attachments and the file, and the page comes back.
    """
    paths: dict[str, Any] = {}
    for table in service.rows:
        spec = table.row_import
        if spec is None:
            continue
        prefix = f"{base}/rows/{table.name}"
        filename = f"{service.id}-{table.name}.xlsx"
        columns = ", ".join(table.field(name).label for name in spec.template_columns)
        template = {
            "description": f"The template: a header of {columns}, then one row "
            "per record of the table, its imported columns other than the key "
            "left empty.",
            "headers": {
                "Content-Disposition": {
                    "required": True,
                    "schema": {"enum": [f'attachment; filename="{filename}"']},
                }
            },
            "content": {XLSX: {"schema": _BINARY}},
        }
        template_answers = {
            "200": template,
            "302": response("LoginRedirect"),
            "400": {
                "description": "The core rejected the reading of the records.",
                "content": {HTML: {"schema": _TEXT}},
            },
            "503": response("Unavailable"),
        }
        paths[f"{prefix}/template.xlsx"] = {
            "get": operation(
                f"{service.id}-rows-{table.name}-template",
                f"Download the xlsx template of {table.name}",
                template_answers,
            )
        }
        paths[f"{prefix}/import"] = {
            "post": operation(
                f"{service.id}-rows-{table.name}-import",
                f"Import the changed rows of {table.name} from an xlsx file, "
                "or discard the import",
                _import_answers(),
                requestBody={
                    "required": True,
                    "content": {MULTIPART: _import_body(service, table, form)},
                },
            )
        }
    return paths


def _import_body(
    service: Service, table: RowTable, form: dict[str, Any]
) -> dict[str, Any]:
    spec = table.row_import
    assert spec is not None
    inputs: dict[str, Any] = {
        "_action": {
            "type": "string",
            "enum": ["import", "discard_import"],
            "description": "The button pressed: import the file, or discard the "
            "rows an earlier file imported into the draft.",
        },
        "_draft": {
            "description": "The draft that keeps the imported rows; a new one is "
            "opened when it is absent.",
            **_DRAFT_TOKEN,
        },
        f"{FILE_INPUT}{table.name}": {
            **_BINARY,
            "description": f"The filled template of {table.label}, an xlsx file of "
            f"at most {spec.max_size_kb} KB and {spec.max_rows} data rows.",
        },
    }
    inputs.update(_form_pages_and_files(service))
    body = with_inputs(form, inputs, fields_required=False)
    return form_body(body)["content"][FORM]


def _import_answers() -> dict[str, Any]:
    html = {HTML: {"schema": _TEXT}}
    return {
        "200": {
            "description": "The service form, with the imported rows summarised, "
            "or with the import discarded.",
            "content": html,
        },
        "302": response("LoginRedirect"),
        "400": {
            "description": "No file, a file that is no readable xlsx of the "
            "template, or rows with errors, listed by sheet row: nothing was "
            "imported. Also a missing or invalid CSRF token, or a core that "
            "rejected the reading of the records.",
            "content": html,
        },
        "413": response("TooLarge"),
        "503": response("Unavailable"),
    }


def attachment_paths(service: Service, base: str) -> dict[str, Any]:
    """Describe uploading and removing attachments, and downloading them again."""
    paths: dict[str, Any] = {}
    media_types: dict[str, Any] = {}
    for kind in service.attachments:
        for name in kind.types:
            media_types[ATTACHMENT_TYPES[name][1]] = {"schema": _BINARY}
        body = {
            "type": "object",
            "properties": {
                "_draft": _DRAFT_TOKEN,
                "_action": {
                    "type": "string",
                    "pattern": "^remove_attachment:[0-9]{1,9}$",
                    "description": "Remove this attachment of the draft instead.",
                },
                kind.kind: {
                    **_BINARY,
                    "description": f"{kind.label}: {', '.join(kind.types)}, at most "
                    f"{kind.max_size_kb} KB each, at most {kind.max_count} files.",
                },
            },
        }
        paths[f"{base}/attachments/{kind.kind}"] = {
            "post": operation(
                f"{service.id}-attachments-{kind.kind}",
                f"Upload or remove a file of {kind.label}; the list, redrawn",
                fragment_answers("404", "413"),
                requestBody={
                    "required": True,
                    "content": {MULTIPART: form_body(body)["content"][FORM]},
                },
            )
        }
    if not service.attachments:
        return paths
    download = {
        "200": {
            "description": "The file, of the type its content showed on upload.",
            "headers": {"X-Content-Type-Options": {"schema": {"enum": ["nosniff"]}}},
            "content": media_types,
        },
        "302": response("LoginRedirect"),
        "404": response("NotFound"),
    }
    attachment_id = path_parameter("attachment_id", _ID)
    paths[f"/{service.hall}/drafts/{{token}}/attachments/{{attachment_id}}"] = {
        "get": operation(
            f"{service.id}-draft-attachment",
            "Download an attachment of one's own draft",
            download,
            parameters=[path_parameter("token", _DRAFT_TOKEN), attachment_id],
        )
    }
    paths[f"/{service.hall}/applications/{{number}}/attachments/{{attachment_id}}"] = {
        "get": operation(
            f"{service.id}-application-attachment",
            "Download an attachment of one's own application",
            download,
            parameters=[path_parameter("number", _NUMBER), attachment_id],
        )
    }
    return paths


def application_paths(service: Service) -> dict[str, Any]:
    """Describe the page of a confirmed application and the revision of a returned one."""
    number = path_parameter("number", _NUMBER)
    page = {
        "200": response("Page"),
        "302": response("LoginRedirect"),
        "404": response("NotFound"),
    }
    revise = {
        **page,
        "200": {
            "description": "The form, filled in from the returned application.",
            "content": {HTML: {"schema": _TEXT}},
        },
        "302": {
            "description": "A redirect to the revision already made, or to login.",
            "headers": {"Location": {"required": True, "schema": _TEXT}},
        },
        "400": response("Invalid"),
    }
    empty = {"type": "object", "properties": {}}
    hall = service.hall
    return {
        f"/{hall}/applications/{{number}}": {
            "get": operation(
                f"{service.id}-application",
                "The status, data and history of one's own application",
                page,
                parameters=[number],
            )
        },
        f"/{hall}/applications/{{number}}/revise": {
            "post": operation(
                f"{service.id}-revise",
                "Open the form of a returned application to correct it",
                revise,
                parameters=[number],
                requestBody=form_body(empty),
            )
        },
    }


def sms_code_paths(service: Service) -> dict[str, Any]:
    """Describe the request of the SMS code a service's submission needs."""
    if service.verification != "sms" or service.public:
        return {}
    body = {
        "type": "object",
        "properties": {"purpose": {"type": "string", "enum": [service.id]}},
        "required": ["purpose"],
    }
    answers = {
        "200": {
            "description": "A notice: the code went to the masked registered "
            "mobile, or the last one is less than 60 seconds old.",
            "content": {HTML: {"schema": _TEXT}},
        },
        "400": response("Invalid"),
        "401": {
            "description": "No live session.",
            "content": {HTML: {"schema": _TEXT}},
        },
    }
    return {
        "/sms/send": {
            "post": operation(
                f"{service.id}-sms-code",
                "Send the SMS code of this service to the registered mobile",
                answers,
                requestBody=form_body(body),
            )
        }
    }


# Print services ---------------------------------------------------------------------


def print_paths(service: Service, form: dict[str, Any]) -> dict[str, Any]:
    """Describe a certificate's form and its PDF download."""
    assert service.printout is not None
    filename = service.printout.filename
    pdf = {
        "description": f"The certificate {filename}.pdf, with a new verification code.",
        "headers": {
            "Content-Disposition": {
                "required": True,
                "description": f'attachment; filename="{service.id}.pdf"; '
                "filename*=UTF-8''<the certificate's name, percent-encoded>.pdf",
                "schema": {
                    "type": "string",
                    "pattern": f'^attachment; filename="{service.id}\\.pdf"; '
                    "filename\\*=UTF-8''",
                },
            },
            "Cache-Control": {"required": True, "schema": {"enum": ["no-store"]}},
        },
        "content": {PDF: {"schema": _BINARY}},
    }
    answers = {
        "200": pdf,
        "303": {
            "description": "The document has more rows than one request lays out: "
            "it is queued as a print job, and Location names the job's page, which "
            "polls for its progress until the download link appears.",
            "headers": {"Location": {"required": True, "schema": _TEXT}},
        },
        "302": response("LoginRedirect"),
        "400": response("Invalid"),
        "404": {
            "description": "The core found no record to certify; the form says so.",
            "content": {HTML: {"schema": _TEXT}},
        },
        "413": response("TooLarge"),
        "500": {
            "description": "The data has a character the certificate font lacks; "
            "no certificate was issued.",
            "content": {HTML: {"schema": _TEXT}},
        },
        "503": response("Unavailable"),
    }
    inputs = {"_action": {"type": "string", "enum": ["print"]}}
    token = [path_parameter("token", _DRAFT_TOKEN)]
    job = f"/{service.hall}/print/{service.id}/jobs/{{token}}"
    return {
        job: {
            "get": operation(
                f"{service.id}-print-job",
                "The progress of one's own print job; a fragment for htmx",
                {
                    "200": response("Page"),
                    "302": response("LoginRedirect"),
                    "404": response("NotFound"),
                },
                parameters=token,
            )
        },
        f"{job}/pdf": {
            "get": operation(
                f"{service.id}-print-job-pdf",
                "Download the PDF of one's own finished print job",
                {
                    "200": pdf,
                    "302": response("LoginRedirect"),
                    "404": response("NotFound"),
                },
                parameters=token,
            )
        },
        f"/{service.hall}/print/{service.id}": {
            "get": operation(
                f"{service.id}-page",
                service.title,
                {"200": response("Page"), "302": response("LoginRedirect")},
            ),
            "post": operation(
                f"{service.id}-print",
                f"{service.title}: issue the certificate as a PDF download",
                answers,
                requestBody=form_body(with_inputs(form, inputs)),
            ),
        },
    }


PRIVATE_HEADERS = {
    "Cache-Control": {
        "required": True,
        "schema": {"type": "string", "enum": ["no-store"]},
    },
    "X-Robots-Tag": {
        "required": True,
        "schema": {"type": "string", "enum": ["noindex"]},
    },
}


def verification_paths() -> dict[str, Any]:
    """Describe the public pages where anyone checks a printed certificate's code."""
    html = {HTML: {"schema": _TEXT}}
    code = {
        "type": "string",
        "description": "The code as printed, in groups of four: 7KQ2-M9XD-....",
        "pattern": "^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$",
    }
    form_answers = {
        "200": {"description": "The form to type a code.", "content": html},
        "302": {
            "description": "A readable code: a redirect to its verification page.",
            "headers": {"Location": {"required": True, "schema": _TEXT}},
        },
        "400": {"description": "The text cannot be a code.", "content": html},
    }
    verify_answers = {
        "200": {"description": "The certificate's key facts.", "content": html},
        "404": {"description": "No certificate has this code.", "content": html},
        "429": {
            "description": "Too many look-ups from this address.",
            "content": html,
            "headers": {
                "Retry-After": {
                    "required": True,
                    "description": "Seconds until the address may look up again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        },
    }
    # A certificate's facts are personal data, so no response may be stored or indexed.
    for answers in (form_answers, verify_answers):
        for answer in answers.values():
            answer.setdefault("headers", {}).update(PRIVATE_HEADERS)
    return {
        "/verify": {
            "get": operation(
                "verify-form",
                "Type a certificate's verification code",
                form_answers,
                security=NO_LOGIN,
                parameters=[{"name": "code", "in": "query", "schema": code}],
            )
        },
        "/verify/{code}": {
            "get": operation(
                "verify",
                "Show the key facts of the certificate with this code",
                verify_answers,
                security=NO_LOGIN,
                parameters=[path_parameter("code", code)],
            )
        },
    }
