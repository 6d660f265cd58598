// GENERATED from the JSDoc in lib/pagination.js by sdk/js/scripts/build-types.js
// (npm run build:types): edit that and build again, never this file.
/** @import { JobStatusView } from './client' */
/**
 * One page of GET /jobs, as openai's cursor pages: `data` and `nextCursor`, `hasNextPage()` and
 * `nextPage()`; `for await (const job of page)` yields its jobs and then every later page's,
 * fetched as the loop reaches them.
 * @implements {AsyncIterable<JobStatusView>}
 */
export class JobPage implements AsyncIterable<JobStatusView> {
    /**
     * Made by the client's listJobsPage() and nextPage(), not by hand.
     * @param {JobStatusView[]} data
     * @param {string | null} nextCursor
     * @param {(cursor: string) => Promise<JobPage>} fetchPage
     */
    constructor(data: JobStatusView[], nextCursor: string | null, fetchPage: (cursor: string) => Promise<JobPage>);
    /** @readonly */
    readonly data: JobStatusView[];
    /**
     * Pass it as `cursor` to listJobsPage (with the same filters) to resume later; null on the
     * last page.
     * @readonly
     */
    readonly nextCursor: string | null;
    /** Whether the service has more: a page may be short, even empty, and not the last. */
    hasNextPage(): boolean;
    /**
     * The following page (same filters, same request options). Rejects with a VSLError (code
     * NO_NEXT_PAGE) on the last page.
     * @returns {Promise<JobPage>}
     */
    nextPage(): Promise<JobPage>;
    /**
     * This page, then each later one, fetched as the loop reaches it.
     * @returns {AsyncGenerator<JobPage, void, undefined>}
     */
    iterPages(): AsyncGenerator<JobPage, void, undefined>;
    /** @returns {AsyncGenerator<JobStatusView, void, undefined>} */
    [Symbol.asyncIterator](): AsyncGenerator<JobStatusView, void, undefined>;
    #private;
}
import type { JobStatusView } from './client';
