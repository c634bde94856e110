"""A multipart part without a readable name, as a hostile client may send it.

Werkzeug puts such a part into the form under the key None. The form must read
the other inputs as usual and show the page, never a server error.
"""

from __future__ import annotations

from flask.testing import FlaskClient
from support import csrf_token, login_person

BOUNDARY = "nameless-part"


def multipart(parts: list[tuple[str, str]]) -> bytes:
    """Encode parts as given, each `Content-Disposition` line written out in full."""
    chunks = []
    for disposition, value in parts:
        chunks.append(
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n"
        )
    chunks.append(f"--{BOUNDARY}--\r\n")
    return "".join(chunks).encode()


def test_nameless_part_gets_page(client: FlaskClient) -> None:
    login_person(client, "44020319850305021X")
    url = "/person/person-retirement-withdrawal"
    token = csrf_token(client.get(url))
    body = multipart(
        [
            ('form-data; nam="x"', "null"),
            ('form-data; name="csrf_token"', token),
            ('form-data; name="bank_card"', "0000000000000000"),
        ]
    )
    response = client.post(
        url, data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert response.status_code == 400
    assert "error-summary" in response.get_data(as_text=True)
