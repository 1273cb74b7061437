"""The handler table is built from command classes by the @handler decorator."""

from __future__ import annotations

import pytest

from kms_mrk import commands
from kms_mrk.local._handlers import HANDLERS, handler
from kms_mrk.local._handlers._registry import Handler


def test_every_handler_is_registered_under_its_commands_operation() -> None:
    assert HANDLERS
    for name, entry in HANDLERS.items():
        command = getattr(commands, f"{name}Command")
        assert isinstance(entry, Handler)
        assert entry.name == name == command.operation_name
        assert entry.request_type is command.input_type


def test_a_second_handler_for_one_operation_is_refused() -> None:
    with pytest.raises(RuntimeError, match="two handlers for ListKeys"):
        handler(commands.ListKeysCommand)(lambda ctx, request: None)
    assert HANDLERS["ListKeys"].function.__name__ == "list_keys"
