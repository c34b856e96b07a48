"""``make local`` prints the console's address and how to sign in, and the page answers there."""

from __future__ import annotations

import re
import urllib.request

from local import cognito
from local.stack import Stack


def test_the_stack_prints_the_console_address_and_the_operators_password(stack: Stack):
    printed = (stack.dir / "up.log").read_text()
    address = f"{stack.gateway_url}/console/"
    found = re.search(rf"console: {re.escape(address)} \(operator 'operator', password '([^']+)'\)",
                      printed)  # fmt: skip
    assert found, printed[-2000:]
    operators = cognito.find_pool(stack.aws_url, cognito.OPERATORS)
    assert found[1] == cognito.operator_password(operators)
    with urllib.request.urlopen(address, timeout=10) as answer:
        assert answer.status == 200
        assert "text/html" in answer.headers["Content-Type"]
