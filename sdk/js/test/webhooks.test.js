'use strict';

// Client webhook verification against a vector signed by the Python standardwebhooks library
// (the one the service signs with), plus every way a webhook must be refused.

const test = require('node:test');
const assert = require('node:assert/strict');
const VSLClient = require('..');

const { verifyWebhook, WebhookVerificationError } = VSLClient;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const BODY = '{"test": 2432232314}';
const SIGNED_AT = 1614265330;
const HEADERS = {
  'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  'webhook-timestamp': String(SIGNED_AT),
  // standardwebhooks.Webhook(SECRET).sign(id, SIGNED_AT, BODY)
  'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const NOW = SIGNED_AT * 1000;

function refusal(fn, message) {
  assert.throws(fn, (error) => error instanceof WebhookVerificationError
    && error instanceof VSLClient.VSLError && error.code === 'INVALID_WEBHOOK' && message.test(error.message));
}

test('a correctly signed webhook verifies and returns its body', () => {
  assert.deepEqual(verifyWebhook(BODY, HEADERS, SECRET, { now: NOW }), { test: 2432232314 });
  assert.deepEqual(verifyWebhook(Buffer.from(BODY), new Headers(HEADERS), SECRET, { now: NOW + 299_000 }),
    { test: 2432232314 });
  const upper = Object.fromEntries(Object.entries(HEADERS).map(([k, v]) => [k.toUpperCase(), v]));
  assert.deepEqual(verifyWebhook(BODY, upper, SECRET, { now: NOW }), { test: 2432232314 });
});

test('any one matching v1 signature among several is enough; other versions are ignored', () => {
  const signature = `v1a,${HEADERS['webhook-signature'].slice(3)} v1,Zm9v ${HEADERS['webhook-signature']}`;
  assert.deepEqual(verifyWebhook(BODY, { ...HEADERS, 'webhook-signature': signature }, SECRET, { now: NOW }),
    { test: 2432232314 });
  refusal(() => verifyWebhook(BODY, { ...HEADERS, 'webhook-signature': `v2,${HEADERS['webhook-signature'].slice(3)}` },
    SECRET, { now: NOW }), /No matching signature/);
});

test('a changed body, id or timestamp, or another secret, is refused', () => {
  refusal(() => verifyWebhook('{"test": 2432232315}', HEADERS, SECRET, { now: NOW }), /No matching signature/);
  refusal(() => verifyWebhook(BODY, { ...HEADERS, 'webhook-id': 'msg_other' }, SECRET, { now: NOW }), /No matching/);
  refusal(() => verifyWebhook(BODY, { ...HEADERS, 'webhook-timestamp': String(SIGNED_AT + 1) }, SECRET,
    { now: NOW }), /No matching/);
  refusal(() => verifyWebhook(BODY, HEADERS, 'whsec_bm90IHRoZSBzZWNyZXQ=', { now: NOW }), /No matching/);
});

test('old or future timestamps are refused outside the tolerance', () => {
  refusal(() => verifyWebhook(BODY, HEADERS, SECRET, { now: NOW + 301_000 }), /too old/);
  refusal(() => verifyWebhook(BODY, HEADERS, SECRET, { now: NOW - 301_000 }), /too new/);
  assert.ok(verifyWebhook(BODY, HEADERS, SECRET, { now: NOW + 3_000_000, tolerance: 3600 }));
  refusal(() => verifyWebhook(BODY, { ...HEADERS, 'webhook-timestamp': '1614265330.5' }, SECRET, { now: NOW }),
    /Invalid webhook-timestamp/);
});

test('missing headers are refused; a parsed body is a usage error', () => {
  for (const name of Object.keys(HEADERS)) {
    const { [name]: _, ...rest } = HEADERS;
    refusal(() => verifyWebhook(BODY, rest, SECRET, { now: NOW }), /Missing required headers/);
  }
  assert.throws(() => verifyWebhook(JSON.parse(BODY), HEADERS, SECRET, { now: NOW }), TypeError);
});
