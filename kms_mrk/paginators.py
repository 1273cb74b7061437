"""Paginators: iterate over every page of a paginated command, or over every item.

``client.paginate(ListKeysCommand(limit=100))`` yields typed ``ListKeysResponse`` pages;
``.items()`` yields the page items (``KeyListEntry`` for ListKeys). The next page is asked
for with the previous page's ``NextMarker`` until ``Truncated`` is false; a service that
returns the same marker twice raises :class:`PaginationError` instead of looping forever.
``AsyncKMSClient.paginate`` returns an :class:`AsyncPaginator` (``async for``) built on the
same page logic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

import attrs

from kms_mrk.errors._base import KmsMrkError
from kms_mrk.schema import Command, PaginatorInfo, Response

__all__ = ["AsyncPaginator", "PaginationError", "Paginator"]

OutputT = TypeVar("OutputT", bound=Response)


class PaginationError(KmsMrkError):
    """The command cannot be paginated, or the service's markers do not advance."""


class _Pages(Generic[OutputT]):
    """The page logic both paginators share: which command asks for the next page."""

    def __init__(self, command: Command[OutputT], *, max_pages: int | None = None) -> None:
        info = type(command).paginator
        if info is None:
            raise PaginationError(f"{command.operation_name} is not a paginated operation")
        if max_pages is not None and (
            isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1
        ):
            raise PaginationError(f"max_pages must be an integer >= 1; got {max_pages!r}")
        self._command = command
        self._info: PaginatorInfo = info
        self._max_pages = max_pages
        members = type(command).__schema__.members_by_name
        self._input_token = members[info.input_token].py_name
        output_members = command.output_type.__schema__.members_by_name
        self._output_token = output_members[info.output_token].py_name
        self._result_key = output_members[info.result_key].py_name
        self._more = output_members[info.more_results].py_name if info.more_results else None

    def _next(
        self, command: Command[OutputT], page: OutputT, pages: int, seen: set[str]
    ) -> Command[OutputT] | None:
        """The command for the page after ``page`` (the ``pages``-th), or None when done."""
        token = getattr(page, self._output_token)
        more = getattr(page, self._more) if self._more else token is not None
        if not more or token is None:
            return None
        if self._max_pages is not None and pages >= self._max_pages:
            return None
        if token in seen:
            raise PaginationError(
                f"{command.operation_name} returned the marker {token!r} twice; stopping"
            )
        seen.add(token)
        return attrs.evolve(command, **{self._input_token: token})  # type: ignore[misc]

    def _items_of(self, page: OutputT) -> Any:
        return getattr(page, self._result_key) or ()


class Paginator(_Pages[OutputT]):
    """An iterable of pages; iterate it again to start over from the first page."""

    def __init__(
        self,
        send: Callable[[Command[OutputT]], OutputT],
        command: Command[OutputT],
        *,
        max_pages: int | None = None,
    ) -> None:
        super().__init__(command, max_pages=max_pages)
        self._send = send

    def __iter__(self) -> Iterator[OutputT]:
        command: Command[OutputT] | None = self._command
        seen: set[str] = set()
        pages = 0
        while command is not None:
            page = self._send(command)
            pages += 1
            yield page
            command = self._next(command, page, pages, seen)

    def items(self) -> Iterator[Any]:
        """Every item of every page (the operation's result member, page after page)."""
        for page in self:
            yield from self._items_of(page)


class AsyncPaginator(_Pages[OutputT]):
    """An async iterable of pages (``async for page in client.paginate(...)``).

    The same page logic as :class:`Paginator`; iterate it again to start over.
    """

    def __init__(
        self,
        send: Callable[[Command[OutputT]], Awaitable[OutputT]],
        command: Command[OutputT],
        *,
        max_pages: int | None = None,
    ) -> None:
        super().__init__(command, max_pages=max_pages)
        self._send = send

    async def __aiter__(self) -> AsyncIterator[OutputT]:
        command: Command[OutputT] | None = self._command
        seen: set[str] = set()
        pages = 0
        while command is not None:
            page = await self._send(command)
            pages += 1
            yield page
            command = self._next(command, page, pages, seen)

    async def items(self) -> AsyncIterator[Any]:
        """Every item of every page (``async for key in client.paginate(...).items()``)."""
        async for page in self:
            for item in self._items_of(page):
                yield item
