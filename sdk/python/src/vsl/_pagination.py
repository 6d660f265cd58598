"""A page of ``GET /jobs``, as openai-python's cursor pages: ``data`` and ``next_cursor``,
``has_next_page()`` and ``next_page()``; iterating a page yields its jobs and then every
later page's, fetched as the loop reaches them."""
from __future__ import annotations

from typing import AsyncIterator, Awaitable, Callable, Iterator, List, Optional

from ._errors import VSLError
from ._types import JobStatus


class _BasePage:
    def __init__(self, data: List[JobStatus], next_cursor: Optional[str]) -> None:
        self.data = data
        # Pass it as cursor= to list_jobs_page (with the same filters) to resume later.
        self.next_cursor = next_cursor

    def has_next_page(self) -> bool:
        """Whether the service has more: a page may be short, even empty, and not the last."""
        return self.next_cursor is not None

    def _cursor(self) -> str:
        if self.next_cursor is None:
            raise VSLError("This is the last page: check has_next_page() first")
        return self.next_cursor

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(data=[{len(self.data)} jobs], "
                f"next_cursor={self.next_cursor!r})")


class JobPage(_BasePage):
    """One page of :meth:`Client.list_jobs_page`."""

    def __init__(self, data: List[JobStatus], next_cursor: Optional[str],
                 fetch: Callable[[str], "JobPage"]) -> None:
        super().__init__(data, next_cursor)
        self._fetch = fetch

    def next_page(self) -> "JobPage":
        """The following page (same filters, same request options)."""
        return self._fetch(self._cursor())

    def iter_pages(self) -> Iterator["JobPage"]:
        page: JobPage = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.next_page()

    def __iter__(self) -> Iterator[JobStatus]:
        for page in self.iter_pages():
            yield from page.data


class AsyncJobPage(_BasePage):
    """One page of :meth:`AsyncClient.list_jobs_page`: ``await page.next_page()``,
    ``async for job in page``."""

    def __init__(self, data: List[JobStatus], next_cursor: Optional[str],
                 fetch: Callable[[str], Awaitable["AsyncJobPage"]]) -> None:
        super().__init__(data, next_cursor)
        self._fetch = fetch

    async def next_page(self) -> "AsyncJobPage":
        return await self._fetch(self._cursor())

    async def iter_pages(self) -> AsyncIterator["AsyncJobPage"]:
        page: AsyncJobPage = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.next_page()

    async def __aiter__(self) -> AsyncIterator[JobStatus]:
        async for page in self.iter_pages():
            for job in page.data:
                yield job
