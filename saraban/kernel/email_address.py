"""The one e-mail rule: what saraban accepts as an e-mail address, wherever one is given (a letter's
owner, a unit in the directory, an applicant's contact).

An address is a local part of the usual characters, ``@`` and a domain of at least two labels of
letters, digits and inner hyphens (``saraban@dla.go.th``); no spaces, no display name.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def is_email(text: str) -> bool:
    """Whether ``text`` (as it is, unstripped) is an e-mail address.

    >>> is_email("saraban@dla.go.th"), is_email("saraban@krabiyai"), is_email("a b@dla.go.th")
    (True, False, False)
    """
    return _ADDRESS.fullmatch(text) is not None


def check_email(text: str) -> str:
    """The address without surrounding blanks; ``ValueError`` (Thai / English) when it is not one.

    >>> check_email(" saraban@dla.go.th ")
    'saraban@dla.go.th'
    >>> check_email("saraban.dla.go.th")
    Traceback (most recent call last):
    ...
    ValueError: อีเมล 'saraban.dla.go.th' ไม่ถูกต้อง (เช่น saraban@dla.go.th) / bad e-mail 'saraban.dla.go.th': \
expected an e-mail address such as saraban@dla.go.th
    """
    address = text.strip()
    if not is_email(address):
        raise ValueError(f"อีเมล '{text}' ไม่ถูกต้อง (เช่น saraban@dla.go.th) / bad e-mail '{text}': "
                         "expected an e-mail address such as saraban@dla.go.th")
    return address


# A model field holding an e-mail address: ``email: Email | None = None``.
Email = Annotated[str, AfterValidator(check_email)]
