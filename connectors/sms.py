"""SMS connectors: the demo gateway keeps messages for the development inbox page."""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from engine.storage.models import SmsMessage

log = logging.getLogger(__name__)


# TODO: no HTTP gateway for a real SMS provider exists yet, so every deployment
# keeps its messages in the demo inbox.
class SmsGateway(Protocol):
    def send(self, mobile: str, text: str) -> None: ...


class DemoSmsGateway:
    """Stores each message in the hall database instead of sending it.

    The development inbox (`/dev/sms`) lists them, so a demo or a test can read the
    codes. No message leaves the machine.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def send(self, mobile: str, text: str) -> None:
        with self.session_factory() as session:
            session.add(SmsMessage(mobile=mobile, text=text))
            session.commit()
        log.info("demo SMS stored for the development inbox")
