'use strict';

// A scripted fetch and a recording sleep: the retry rules tested without a network or a clock.

const VSLClient = require('..');

function jsonResponse(status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status, headers: { 'Content-Type': 'application/json', ...headers },
  });
}

function apiError(status, code, headers = {}, extra = {}) {
  return jsonResponse(status, { error: `error ${status}`, details: `details of ${code}`, code, ...extra }, headers);
}

function connectionError(code) {
  const cause = Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });
  return new TypeError('fetch failed', { cause });
}

/**
 * fetch answering from `script`: each entry is a Response, an Error to throw, 'hang' (never
 * answers until aborted), or a function (url, init) => one of those. The last entry repeats.
 */
function scriptedFetch(script) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    calls.push({ url, method: init.method || 'GET', headers, body: init.body });
    let step = script[Math.min(calls.length - 1, script.length - 1)];
    if (typeof step === 'function') step = step(url, init);
    if (step === 'hang') {
      return new Promise((resolve, reject) => {
        init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true });
      });
    }
    if (step instanceof Error) throw step;
    return step.clone();
  };
  return { fetch, calls };
}

function recordingSleep() {
  const delays = [];
  const sleep = async (ms, signal) => {
    if (signal && signal.aborted) throw signal.reason;
    delays.push(ms);
  };
  return { sleep, delays };
}

function fakeClient(script, options = {}) {
  const { fetch, calls } = scriptedFetch(script);
  const { sleep, delays } = recordingSleep();
  const client = new VSLClient({
    apiKey: 'vsl_test_key', baseUrl: 'http://vsl.test/homolog/', userId: 'user123',
    fetch, sleep, ...options,
  });
  return { client, calls, delays };
}

module.exports = { VSLClient, jsonResponse, apiError, connectionError, scriptedFetch, recordingSleep, fakeClient };
