'use strict';

const { VSLError } = require('./errors');

/**
 * One page of GET /jobs, as openai's cursor pages: `data` and `nextCursor`, `hasNextPage()` and
 * `nextPage()`; `for await (const job of page)` yields its jobs and then every later page's,
 * fetched as the loop reaches them.
 */
class JobPage {
  constructor(data, nextCursor, fetchPage) {
    this.data = data;
    /** Pass it as `cursor` to listJobsPage (with the same filters) to resume later. */
    this.nextCursor = nextCursor;
    Object.defineProperty(this, '_fetchPage', { value: fetchPage });
  }

  /** Whether the service has more: a page may be short, even empty, and not the last. */
  hasNextPage() {
    return this.nextCursor !== null;
  }

  /** The following page (same filters, same request options). */
  async nextPage() {
    if (!this.hasNextPage()) {
      throw new VSLError('This is the last page: check hasNextPage() first', { code: 'NO_NEXT_PAGE' });
    }
    return this._fetchPage(this.nextCursor);
  }

  async* iterPages() {
    let page = this;
    for (;;) {
      yield page;
      if (!page.hasNextPage()) return;
      page = await page.nextPage();
    }
  }

  async* [Symbol.asyncIterator]() {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

module.exports = { JobPage };
