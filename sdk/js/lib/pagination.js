'use strict';

const { VSLError } = require('./errors');

/** @import { JobStatusView } from './client' */

/**
 * One page of GET /jobs, as openai's cursor pages: `data` and `nextCursor`, `hasNextPage()` and
 * `nextPage()`; `for await (const job of page)` yields its jobs and then every later page's,
 * fetched as the loop reaches them.
 * @implements {AsyncIterable<JobStatusView>}
 */
class JobPage {
  #fetchPage;

  /**
   * Made by the client's listJobsPage() and nextPage(), not by hand.
   * @param {JobStatusView[]} data
   * @param {string | null} nextCursor
   * @param {(cursor: string) => Promise<JobPage>} fetchPage
   */
  constructor(data, nextCursor, fetchPage) {
    /** @readonly */
    this.data = data;
    /**
     * Pass it as `cursor` to listJobsPage (with the same filters) to resume later; null on the
     * last page.
     * @readonly
     */
    this.nextCursor = nextCursor;
    this.#fetchPage = fetchPage;
  }

  /** Whether the service has more: a page may be short, even empty, and not the last. */
  hasNextPage() {
    return this.nextCursor !== null;
  }

  /**
   * The following page (same filters, same request options). Rejects with a VSLError (code
   * NO_NEXT_PAGE) on the last page.
   * @returns {Promise<JobPage>}
   */
  async nextPage() {
    const cursor = this.nextCursor;
    if (cursor === null) {
      throw new VSLError('This is the last page: check hasNextPage() first', { code: 'NO_NEXT_PAGE' });
    }
    return this.#fetchPage(cursor);
  }

  /**
   * This page, then each later one, fetched as the loop reaches it.
   * @returns {AsyncGenerator<JobPage, void, undefined>}
   */
  async* iterPages() {
    /** @type {JobPage} */
    let page = this;
    for (;;) {
      yield page;
      if (!page.hasNextPage()) return;
      page = await page.nextPage();
    }
  }

  /** @returns {AsyncGenerator<JobStatusView, void, undefined>} */
  async* [Symbol.asyncIterator]() {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

module.exports = { JobPage };
