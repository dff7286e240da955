'use strict';

// Drives Ping++'s official Node SDK (npm `pingpp`, exactly 2.1.6) against a
// polypay node. Only the host is changed on the SDK; everything else is the
// SDK's own behaviour. Spec references (§) are to docs/pingpp-compat.md.
//
// The whole charge flow runs on every channel polypay simulates in test
// mode (CHANNELS: Alipay, WeChat Pay, UnionPay, PayPal, cards and Apple Pay):
// create with the SDK, the credential's shape (spec §3.3), payment in the
// sandbox (or at create, for the scan channels and frictionless cards), the
// verified charge.succeeded webhook, a partial refund and its verified
// refund.succeeded webhook, listRefunds and retrieve. Pre-authorization (a
// polypay extension, README) runs on the channels that hold funds
// (PREAUTH_CHANNELS): create with capture=false, approve, capture less than
// held through the SDK's own resource machinery, void another with
// charges.reverse. Payouts (spec §2.5–2.8) run on Alipay: transfers and
// batch transfers through the SDK (create, retrieve, which settles them in
// test mode, list, the webhooks), red envelopes on WeChat's simulator when
// the sandbox's credentials can send them, and batch refunds with plain HTTP (the SDK's batchRefunds
// resource is broken, and is checked to make no batch). The account system
// (spec §2.11) runs through the SDK's users, balanceBonuses,
// balanceTransfers and balanceTransactions: two users, a bonus (keyed by
// its order_no), a balance transfer with a user fee, an overdraft refused,
// the balances and balance transactions that follow, and the webhooks.
// Coupons and Ping++'s order API (spec §2.11) run through the SDK's
// couponTemplates, coupons and orders: a cash coupon template, coupons
// issued to one user and in a batch, an order redeeming a coupon paid part
// from the user's balance and part by alipay_qr (paid in the sandbox), its
// charges, its full refund (the refundable coupon given back), a canceled
// order, an updated one, and the template deleted.
//
// Environment:
//   POLYPAY_HOST, POLYPAY_PORT   where polypay listens (plain HTTP)
//   POLYPAY_KEY                  a sk_test_... secret key of POLYPAY_APP
//   POLYPAY_PK                   the pk_test_... publishable key of POLYPAY_APP
//   POLYPAY_APP                  app_...
//   POLYPAY_PUBKEY_FILE          POLYPAY_APP's test-mode webhook public key (PEM), what
//                                GET /v1/webhook_endpoints/public_key serves to POLYPAY_KEY
//   POLYPAY_REPLY_PUBKEY_FILE    the node's API reply public key (PEM): replies are signed with it
//   POLYPAY_APPLEPAY_TOKEN       optional: a sandbox Apple Pay PKPaymentToken paymentData (JSON);
//                                by default one is made here for the test card 4242424242424242,
//                                as the sandbox wallet would hand it to an app
//
// `go test ./compat/` runs it against a fresh node with all of these set
// (after `cd compat/node && npm ci`); that is the usual way to run it.
//
// Prints one JSON summary line on stdout and exits 0 when every check
// passes; on the first failure it prints "COMPAT FAIL [step]: ..." on stderr
// and exits 1.

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const pingpp = require('pingpp');
const PingppErrors = require('pingpp/lib/Error');

const SDK_VERSION = require('pingpp/package.json').version;

const STEP_TIMEOUT_MS = 10000;
const OVERALL_TIMEOUT_MS = 55000;

const CHARGE_AMOUNT = 100;
const REFUND_AMOUNT = 30;
const CAPTURE_AMOUNT = 60; // less than CHARGE_AMOUNT, more than REFUND_AMOUNT

let step = 'setup';
let checks = 0;
// The node's API reply key (POLYPAY_REPLY_PUBKEY_FILE). Replies are signed
// with it, never with the app's webhook key, so that no reply body (an event
// fetched with GET /v1/events/{id}) passes as a webhook.
let replyKey = null;

class CheckError extends Error {}

function fail(msg) {
  throw new CheckError(msg);
}

function check(cond, msg, detail) {
  checks++;
  if (!cond) {
    fail(msg + (detail === undefined ? '' : ': ' + short(detail)));
  }
}

function short(v) {
  let s;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v);
  } catch (e) {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > 2000 ? s.slice(0, 2000) + '…' : s;
}

function env(name) {
  const v = process.env[name];
  if (!v) {
    fail('environment variable ' + name + ' is not set');
  }
  return v;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isInt(v) {
  return typeof v === 'number' && Number.isInteger(v);
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Order-insensitive deep equality of JSON values.
function jsonEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return jsonEqual(ka, kb) && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

function randomAlnum(n) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += abc[bytes[i] % abc.length];
  return s;
}

function verifySignature(body, signature, publicKeyPem) {
  if (typeof signature !== 'string' || signature === '') return false;
  try {
    return crypto.createVerify('RSA-SHA256').update(body).verify(publicKeyPem, signature, 'base64');
  } catch (e) {
    return false;
  }
}

// A plain HTTP request to polypay (for what the SDK has no resource for).
// No agent: one connection per request, like the SDK.
function rawRequest(cfg, method, path, body, key) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body), 'utf8');
    const headers = { Accept: 'application/json' };
    if (key) headers.Authorization = 'Basic ' + Buffer.from(key + ':').toString('base64');
    if (data) {
      headers['Content-Type'] = 'application/json; charset=UTF-8';
      headers['Content-Length'] = data.length;
    }
    const req = http.request({ host: cfg.host, port: cfg.port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        let json;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch (e) {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, raw, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(STEP_TIMEOUT_MS, () => req.destroy(new Error(method + ' ' + path + ': timed out')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// Every API reply is JSON and carries a valid X-Pingplusplus-Signature
// over its raw body (spec §1.9, §5.3 item 7), made with the API reply key:
// it must not verify with the webhook key (webhookKey).
function checkRawReply(res, what, webhookKey) {
  check(res.json !== undefined, what + ': reply body is not JSON', res.raw.toString('utf8'));
  check(/^application\/json/i.test(res.headers['content-type'] || ''),
    what + ': reply Content-Type is not application/json', res.headers['content-type']);
  check(verifySignature(res.raw, res.headers['x-pingplusplus-signature'], replyKey),
    what + ': reply X-Pingplusplus-Signature missing or does not verify over the body with the API reply key (spec §1.9)',
    res.headers['x-pingplusplus-signature']);
  check(!verifySignature(res.raw, res.headers['x-pingplusplus-signature'], webhookKey),
    what + ': reply X-Pingplusplus-Signature verifies with the webhook key (a reply would pass as a webhook)',
    res.headers['x-pingplusplus-signature']);
  // The SDK writes its request only on a fresh connection (spec §1.9).
  check(String(res.headers.connection || '').toLowerCase() === 'close',
    what + ': reply lacks Connection: close (spec §1.9)', res.headers.connection);
  if (res.status >= 400) {
    const e = isPlainObject(res.json) ? res.json.error : undefined;
    check(isPlainObject(e) && typeof e.type === 'string' && typeof e.message === 'string',
      what + ': error reply is not {"error":{"type":string,"message":string}} (spec §1.10)', res.json);
    for (const f of ['code', 'param']) {
      check(!(f in e) || typeof e[f] === 'string',
        what + ': error.' + f + ' is present but not a string (spec §1.10: never null)', e[f]);
    }
  }
}

// Receives webhook deliveries on 127.0.0.1:0 and keeps the raw bytes.
function startWebhookReceiver() {
  const deliveries = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const d = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        raw: Buffer.concat(chunks),
        at: Date.now(),
      };
      try {
        d.json = JSON.parse(d.raw.toString('utf8'));
      } catch (e) {
        d.json = undefined;
      }
      deliveries.push(d);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('OK');
      for (const w of waiters.splice(0)) w();
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = server.address().port;
      resolve({
        server,
        url: 'http://127.0.0.1:' + port + '/pingpp/webhook',
        deliveries,
        // Resolves with the first delivery of an event of type `type`
        // about the object `objectId`.
        async waitFor(type, objectId, timeoutMs) {
          const deadline = Date.now() + timeoutMs;
          const about = (x) => x.json && x.json.type === type && isPlainObject(x.json.data) &&
            isPlainObject(x.json.data.object) && x.json.data.object.id === objectId;
          for (;;) {
            const d = deliveries.find(about);
            if (d) return d;
            const left = deadline - Date.now();
            if (left <= 0) {
              fail('no `' + type + '` webhook for ' + objectId + ' within ' + timeoutMs + ' ms; received: ' +
                short(deliveries.map((x) => (x.json ? x.json.type + ' ' + (x.json.data && x.json.data.object && x.json.data.object.id)
                  : x.raw.toString('utf8').slice(0, 200)))));
            }
            await new Promise((r) => {
              const t = setTimeout(r, left);
              waiters.push(() => {
                clearTimeout(t);
                r();
              });
            });
          }
        },
      });
    });
  });
}

// Checks one webhook delivery (spec §4.2, §4.3) and returns the event.
function checkWebhook(d, type, objectType, objectId, pubKey) {
  check(d.method === 'POST', type + ' webhook: method is not POST', d.method);
  check(/^application\/json/i.test(d.headers['content-type'] || ''),
    type + ' webhook: Content-Type is not application/json (spec §4.2)', d.headers['content-type']);
  const sig = d.headers['x-pingplusplus-signature'];
  check(typeof sig === 'string' && sig.length > 0,
    type + ' webhook: no X-Pingplusplus-Signature header (spec §4.3)', d.headers);
  check(/^[A-Za-z0-9+/]+={0,2}$/.test(sig), type + ' webhook: signature is not one-line standard base64', sig);
  check(verifySignature(d.raw, sig, pubKey),
    type + ' webhook: RSA-SHA256 signature does not verify over the raw body with the webhook public key (spec §4.3)',
    { signature: sig, body: d.raw.toString('utf8') });
  const ev = d.json;
  check(isPlainObject(ev), type + ' webhook: body is not a JSON object', d.raw.toString('utf8'));
  check(ev.object === 'event', type + ' webhook: object != "event"', ev.object);
  check(typeof ev.id === 'string' && /^evt_[0-9A-Za-z]{24}$/.test(ev.id), type + ' webhook: bad event id', ev.id);
  check(ev.type === type, type + ' webhook: wrong type', ev.type);
  check(ev.livemode === false, type + ' webhook: livemode is not false', ev.livemode);
  check(isInt(ev.created), type + ' webhook: created is not an integer', ev.created);
  check(isInt(ev.pending_webhooks) && ev.pending_webhooks >= 0,
    type + ' webhook: pending_webhooks is not a non-negative integer', ev.pending_webhooks);
  check(ev.request === null || typeof ev.request === 'string', type + ' webhook: request is neither string nor null', ev.request);
  check(isPlainObject(ev.data) && isPlainObject(ev.data.object), type + ' webhook: data.object missing', ev.data);
  check(ev.data.object.object === objectType,
    type + ' webhook: data.object.object != "' + objectType + '"', ev.data.object.object);
  check(ev.data.object.id === objectId,
    type + ' webhook: data.object.id is ' + ev.data.object.id + ', expected ' + objectId);
  return ev;
}

function checkList(l, url, what) {
  check(isPlainObject(l), what + ': not an object', l);
  check(l.object === 'list', what + ': object != "list"', l.object);
  check(l.url === url, what + ': url != "' + url + '" (spec §1.8)', l.url);
  check(typeof l.has_more === 'boolean', what + ': has_more is not a boolean (spec §1.8)', l.has_more);
  check(Array.isArray(l.data), what + ': data is not an array', l.data);
}

function checkCharge(c, what, app, orderNo, channel, currency = 'cny', amount = CHARGE_AMOUNT) {
  check(isPlainObject(c), what + ': not an object', c);
  check(c.object === 'charge', what + ': object != "charge"', c.object);
  check(typeof c.id === 'string' && /^ch_[0-9A-Za-z]{24}$/.test(c.id), what + ': id is not ch_ + 24 characters', c.id);
  check(c.livemode === false, what + ': livemode is not false', c.livemode);
  check(c.app === app, what + ': app is not the app id string (spec §2.2.2)', c.app);
  check(c.channel === channel, what + ': channel', c.channel);
  check(c.order_no === orderNo, what + ': order_no', c.order_no);
  check(c.amount === amount, what + ': amount', c.amount);
  check(c.currency === currency, what + ': currency', c.currency);
  check(isInt(c.created), what + ': created is not an integer', c.created);
  check(isInt(c.time_expire) && c.time_expire > c.created, what + ': time_expire', c.time_expire);
  for (const f of ['paid', 'refunded', 'reversed']) {
    check(typeof c[f] === 'boolean', what + ': ' + f + ' is not a boolean', c[f]);
  }
  for (const f of ['extra', 'metadata', 'credential']) {
    check(isPlainObject(c[f]), what + ': ' + f + ' is not an object (spec §5.3 item 3)', c[f]);
  }
  check(isInt(c.amount_refunded), what + ': amount_refunded is not an integer', c.amount_refunded);
  checkList(c.refunds, '/v1/charges/' + c.id + '/refunds', what + ' refunds');
}

function checkRefund(r, what, chargeId, orderNo) {
  check(isPlainObject(r), what + ': not an object', r);
  check(r.object === 'refund', what + ': object != "refund"', r.object);
  check(typeof r.id === 'string' && /^re_[0-9A-Za-z]{24}$/.test(r.id), what + ': id is not re_ + 24 characters', r.id);
  check(r.amount === REFUND_AMOUNT, what + ': amount', r.amount);
  check(r.charge === chargeId, what + ': charge', r.charge);
  check(r.charge_order_no === orderNo, what + ': charge_order_no', r.charge_order_no);
  check(r.order_no === r.id.slice(3), what + ': order_no is not the id without re_ (spec §2.3)', r.order_no);
  check(isInt(r.created), what + ': created is not an integer', r.created);
  check(typeof r.succeed === 'boolean', what + ': succeed is not a boolean', r.succeed);
  check(['pending', 'succeeded', 'failed'].includes(r.status), what + ': status', r.status);
  check(r.succeed === (r.status === 'succeeded'), what + ': succeed disagrees with status', { succeed: r.succeed, status: r.status });
  check(isPlainObject(r.metadata), what + ': metadata is not an object', r.metadata);
}

// --- Channels and their credentials (spec §3.2 extra, §3.3 credential).

function randomDigits(n) {
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += String(bytes[i] % 10);
  return s;
}

function isHttpURL(v) {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch (e) {
    return false;
  }
}

// A credential value that pingpp-js turns into a GET redirect: every field
// but channel_url becomes k=encodeURIComponent(v), so each must be a scalar.
function checkRedirectForm(v, what) {
  check(isPlainObject(v), what + ' is not an object (spec §3.3)', v);
  for (const [k, x] of Object.entries(v)) {
    check(typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean',
      what + '.' + k + ' is not a scalar: the JS client URL-encodes every field into the redirect (spec §3.3)', x);
  }
  if ('channel_url' in v) check(isHttpURL(v.channel_url), what + '.channel_url is not an http(s) URL', v.channel_url);
  check(typeof v.sign === 'string' && v.sign !== '', what + '.sign is missing', v);
}

// Alipay OpenAPI common parameters (alipay_pc_direct's OpenAPI form, §3.3).
function checkOpenAPIForm(v, what, method) {
  check(v.method === method, what + '.method is not ' + method, v.method);
  check(typeof v.app_id === 'string' && v.app_id !== '', what + '.app_id is missing', v);
  check(v.format === undefined || v.format === 'JSON', what + '.format is not JSON', v.format);
  check(/^utf-8$/i.test(v.charset), what + '.charset is not utf-8', v.charset);
  check(v.sign_type === 'RSA2', what + '.sign_type is not RSA2', v.sign_type);
  check(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v.timestamp || ''), what + '.timestamp is not yyyy-MM-dd HH:mm:ss', v.timestamp);
  check(v.version === '1.0', what + '.version is not 1.0', v.version);
  let biz;
  try {
    biz = JSON.parse(v.biz_content);
  } catch (e) {
    biz = undefined;
  }
  check(isPlainObject(biz), what + '.biz_content is not a JSON object string', v.biz_content);
  check(isHttpURL(v.notify_url), what + '.notify_url is not an http(s) URL', v.notify_url);
  return biz;
}

// decoded undoes the URL-encoding the legacy MAPI form applies to URLs.
function decoded(v) {
  try {
    return decodeURIComponent(v);
  } catch (e) {
    return v;
  }
}

const SUCCESS_URL = 'https://shop.example/pay/ok';
const OPEN_ID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

// The six keys pingpp-js requires in wx_pub and wx_lite credentials.
function checkJsapi(v, what) {
  check(isPlainObject(v), what + ' is not an object (spec §3.3)', v);
  for (const k of ['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign']) {
    check(typeof v[k] === 'string' && v[k] !== '', what + '.' + k + ' is missing or not a non-empty string (pingpp-js: missing_field_' + k + ')', v);
  }
  check(/^\d{10}$/.test(v.timeStamp), what + '.timeStamp is not a string of Unix seconds (spec §3.3: must be a string)', v.timeStamp);
  check(v.package.startsWith('prepay_id='), what + '.package is not "prepay_id=<id>"', v.package);
}

// The scan channels: no client step, the charge is paid by create, and
// the credential carries nothing a client needs: {} as on any paid charge
// (spec §2.2.2), or the envelope with an object or nothing under the
// channel (spec §3.3, last row).
function checkScanCredential(cred, channel) {
  if (Object.keys(cred).length === 0) return;
  check(cred.object === 'credential', channel + ': charges.create: credential is neither {} nor {"object":"credential",…} (spec §3.3)', cred);
  const v = cred[channel];
  check(v === undefined || v === null || isPlainObject(v),
    channel + ': charges.create: credential.' + channel + ' is neither absent nor an object', v);
}

const RESULT_URL = 'https://shop.example/pay/result';

// UnionPay: the app credential is {tn, mode} (mode "01" in test), plus
// merchant_id for Apple Pay through UnionPay (spec §3.3).
function checkUnionPayApp(v, what, applePay) {
  check(isPlainObject(v), what + ' is not an object (spec §3.3)', v);
  check(typeof v.tn === 'string' && /^[0-9]{1,40}$/.test(v.tn), what + '.tn is not a UnionPay transaction number string', v);
  check(v.mode === '01', what + '.mode is not "01" (UnionPay test environment) on a test charge (spec §3.3)', v);
  const want = applePay ? ['merchant_id', 'mode', 'tn'] : ['mode', 'tn'];
  check(jsonEqual(Object.keys(v).sort(), want), what + ' keys are not ' + want.join(', ') + ' (spec §3.3)', v);
  if (applePay) {
    check(typeof v.merchant_id === 'string' && v.merchant_id !== '', what + '.merchant_id (the Apple merchant ID) is missing', v);
  }
}

// upacp_wap / upacp_pc: the signed ACP 5.1.0 front-gateway request that
// pingpp-js auto-submits as a POST form (spec §3.3), so every value is a
// string and the signature covers the fields.
function checkUnionPayForm(v, what, channelType) {
  check(isPlainObject(v), what + ' is not an object (spec §3.3)', v);
  for (const [k, x] of Object.entries(v)) {
    check(typeof x === 'string', what + '.' + k + ' is not a string: pingpp-js posts every field as a form value', x);
  }
  const fixed = {
    version: '5.1.0', encoding: 'UTF-8', signMethod: '01', txnType: '01', txnSubType: '01', bizType: '000201',
    accessType: '0', currencyCode: '156', txnAmt: String(CHARGE_AMOUNT), channelType,
  };
  for (const [k, want] of Object.entries(fixed)) {
    check(v[k] === want, what + '.' + k + ' is not "' + want + '"', v[k]);
  }
  check(/^[0-9]+$/.test(v.certId || ''), what + '.certId is not the signing certificate serial (decimal)', v.certId);
  check(typeof v.merId === 'string' && v.merId !== '', what + '.merId is missing', v);
  check(/^[0-9A-Za-z]{8,40}$/.test(v.orderId || ''), what + '.orderId is not 8–40 letters or digits', v.orderId);
  check(/^\d{14}$/.test(v.txnTime || ''), what + '.txnTime is not yyyyMMddHHmmss', v.txnTime);
  check(isHttpURL(v.backUrl), what + '.backUrl is not an http(s) URL', v.backUrl);
  check(v.frontUrl === RESULT_URL, what + '.frontUrl is not extra.result_url', v.frontUrl);
  check(/^[A-Za-z0-9+/]+={0,2}$/.test(v.signature || ''), what + '.signature is not base64', v.signature);
}

// Card charges: a PaymentIntent while the customer still has a step to
// take (3-D Secure), or nothing once paid at create.
function checkPaymentIntent(v, what) {
  check(isPlainObject(v), what + ' is not an object', v);
  check(v.object === 'payment_intent', what + '.object is not "payment_intent"', v.object);
  check(typeof v.id === 'string' && v.id.startsWith('pi_'), what + '.id is not pi_…', v.id);
  check(typeof v.status === 'string', what + '.status is not a string', v.status);
  check(typeof v.client_secret === 'string' && v.client_secret.startsWith(v.id + '_secret_'),
    what + '.client_secret does not belong to the PaymentIntent', v.client_secret);
}

// A 3-D Secure challenge: the customer is sent to the issuer's page.
function checkChallenge(v, what) {
  checkPaymentIntent(v, what);
  check(v.status === 'requires_action', what + '.status is not requires_action (3-D Secure challenge)', v.status);
  const r = isPlainObject(v.next_action) ? v.next_action.redirect_to_url : undefined;
  check(isPlainObject(r) && isHttpURL(r.url), what + '.next_action.redirect_to_url.url is not an http(s) URL', v.next_action);
}

// Test cards (sim/stripesim/README.md): frictionless and challenged.
const CARD_FRICTIONLESS = '4242424242424242';
const CARD_CHALLENGE = '4000000000003220';

// Tokenizes a test card with the publishable key, as a browser or app
// does. pingpp 2.1.6 has no tokens resource (spec §2.10), so plain HTTP.
async function cardToken(cfg, pubKey, number) {
  const res = await rawRequest(cfg, 'POST', '/v1/tokens', {
    card: { number, exp_month: 12, exp_year: new Date().getFullYear() + 2, cvc: '123' },
  }, cfg.pk);
  checkRawReply(res, 'POST /v1/tokens (publishable key)', pubKey);
  check(res.status === 200, 'POST /v1/tokens: status ' + res.status, res.raw.toString('utf8'));
  const tok = res.json;
  check(isPlainObject(tok) && typeof tok.id === 'string' && tok.id.startsWith('tok_'), 'POST /v1/tokens: id is not tok_…', tok);
  check(!res.raw.toString('utf8').includes(number), 'POST /v1/tokens: the reply repeats the card number');
  return tok.id;
}

const CHANNELS = [
  {
    channel: 'alipay_qr',
    credential(v) {
      check(typeof v === 'string' && v.startsWith('https://qr.alipay.com/'),
        'charges.create: credential.alipay_qr is not a https://qr.alipay.com/ URL string (spec §3.3)', v);
    },
  },
  {
    channel: 'alipay',
    credential(v) {
      check(isPlainObject(v), 'charges.create: credential.alipay is not an object (spec §3.3)', v);
      const s = v.orderInfo;
      check(typeof s === 'string' && s !== '', 'charges.create: credential.alipay.orderInfo is not a non-empty string (spec §3.3)', v);
      const pairs = s.split('&');
      check(pairs.every((p) => /^[A-Za-z_]+=/.test(p)), 'charges.create: credential.alipay.orderInfo is not k=v pairs joined by &', s);
      const keys = pairs.map((p) => p.slice(0, p.indexOf('=')));
      check(keys.includes('sign') && keys.includes('sign_type'), 'charges.create: credential.alipay.orderInfo has no sign and sign_type', s);
      // The legacy mobile.securitypay.pay string (spec §3.3) or the OpenAPI
      // alipay.trade.app.pay one, which Alipay's app SDK takes alike.
      check(s.includes('service="mobile.securitypay.pay"') || s.includes('method=alipay.trade.app.pay'),
        'charges.create: credential.alipay.orderInfo is neither a mobile.securitypay.pay nor an alipay.trade.app.pay order string', s);
    },
  },
  {
    channel: 'alipay_wap',
    extra: { success_url: SUCCESS_URL },
    credential(v) {
      checkRedirectForm(v, 'charges.create: credential.alipay_wap');
      if (v.service !== undefined) {
        check(v.service === 'alipay.wap.create.direct.pay.by.user', 'charges.create: credential.alipay_wap.service', v.service);
      } else {
        checkOpenAPIForm(v, 'charges.create: credential.alipay_wap', 'alipay.trade.wap.pay');
      }
      check(decoded(v.return_url) === SUCCESS_URL, 'charges.create: credential.alipay_wap.return_url is not extra.success_url', v.return_url);
    },
  },
  {
    channel: 'alipay_pc_direct',
    extra: { success_url: SUCCESS_URL },
    credential(v) {
      checkRedirectForm(v, 'charges.create: credential.alipay_pc_direct');
      if (v.service !== undefined) {
        check(v.service === 'create_direct_pay_by_user', 'charges.create: credential.alipay_pc_direct.service', v.service);
      } else {
        const biz = checkOpenAPIForm(v, 'charges.create: credential.alipay_pc_direct', 'alipay.trade.page.pay');
        check(biz.total_amount === '1.00' || biz.total_amount === 1,
          'charges.create: credential.alipay_pc_direct biz_content.total_amount is not 1.00 yuan', biz.total_amount);
      }
      check(decoded(v.return_url) === SUCCESS_URL, 'charges.create: credential.alipay_pc_direct.return_url is not extra.success_url', v.return_url);
    },
  },
  {
    channel: 'alipay_lite',
    extra: { buyer_id: '2088000000000001' },
    credential(v) {
      check(typeof v === 'string' && /^[0-9A-Za-z]{16,64}$/.test(v),
        'charges.create: credential.alipay_lite is not a trade_no string (spec §3.3)', v);
    },
  },
  {
    channel: 'alipay_scan',
    scan: true,
    extra: () => ({ scan_code: '28' + randomDigits(16), terminal_id: 'T001' }),
  },
  {
    channel: 'wx_pub_qr',
    extra: { product_id: 'P001' },
    credential(v) {
      check(typeof v === 'string' && /^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]+$/.test(v),
        'charges.create: credential.wx_pub_qr is not a weixin://wxpay/bizpayurl?pr= string (spec §3.3)', v);
    },
  },
  {
    channel: 'wx',
    credential(v) {
      check(isPlainObject(v), 'charges.create: credential.wx is not an object (spec §3.3)', v);
      for (const k of ['appId', 'partnerId', 'prepayId', 'nonceStr', 'sign']) {
        check(typeof v[k] === 'string' && v[k] !== '', 'charges.create: credential.wx.' + k + ' is missing (spec §3.3)', v);
      }
      check(v.packageValue === 'Sign=WXPay', 'charges.create: credential.wx.packageValue is not "Sign=WXPay"', v.packageValue);
      // A number (spec §3.3: emit a number); JAVA reads it as a long.
      check(isInt(v.timeStamp) && String(v.timeStamp).length === 10,
        'charges.create: credential.wx.timeStamp is not a number of Unix seconds (spec §3.3)', v.timeStamp);
    },
  },
  {
    channel: 'wx_pub',
    extra: { open_id: OPEN_ID },
    credential(v) {
      checkJsapi(v, 'charges.create: credential.wx_pub');
    },
    // The SDK's own consumer of this credential: the JS-SDK config
    // signature built from credential.wx_pub.nonceStr and .timeStamp
    // (spec §3.3, NODE lib/WxOAuth.js getSignature).
    sdk(sdk, ch) {
      const ticket = 'compat_jsapi_ticket';
      const url = 'https://shop.example/pay?order=1';
      const got = sdk.wxPubOauth.getSignature(ch, ticket, url + '#frag');
      const v = ch.credential.wx_pub;
      const want = crypto.createHash('sha1')
        .update('jsapi_ticket=' + ticket + '&noncestr=' + v.nonceStr + '&timestamp=' + v.timeStamp + '&url=' + url).digest('hex');
      check(typeof got === 'string' && got === want,
        'wx_pub: wxPubOauth.getSignature did not sign the credential\'s nonceStr and timeStamp', { got, want });
    },
  },
  {
    channel: 'wx_lite',
    extra: { open_id: OPEN_ID },
    credential(v) {
      checkJsapi(v, 'charges.create: credential.wx_lite');
    },
  },
  {
    channel: 'wx_wap',
    credential(v) {
      const url = isPlainObject(v) ? v.url : v;
      check(isHttpURL(url), 'charges.create: credential.wx_wap is neither an http(s) URL string nor {url} (spec §3.3)', v);
    },
  },
  {
    channel: 'wx_pub_scan',
    scan: true,
    // 13, then anything but 00: a 1300… code stays USERPAYING in the
    // simulator (the customer typing the password), not paid at create.
    extra: () => ({ scan_code: '13' + (1 + (crypto.randomBytes(1)[0] % 9)) + randomDigits(15) }),
  },
  {
    channel: 'upacp',
    credential(v) {
      checkUnionPayApp(v, 'charges.create: credential.upacp', false);
    },
  },
  {
    channel: 'upacp_wap',
    extra: { result_url: RESULT_URL },
    credential(v) {
      checkUnionPayForm(v, 'charges.create: credential.upacp_wap', '08');
    },
    form: true,
  },
  {
    channel: 'upacp_pc',
    extra: { result_url: RESULT_URL },
    credential(v) {
      checkUnionPayForm(v, 'charges.create: credential.upacp_pc', '07');
    },
    form: true,
  },
  {
    channel: 'applepay_upacp',
    credential(v) {
      checkUnionPayApp(v, 'charges.create: credential.applepay_upacp', true);
    },
  },
  {
    channel: 'paypal',
    currency: 'usd',
    credential(v) {
      check(isHttpURL(v), 'charges.create: credential.paypal is not the approval URL string (spec §3.3)', v);
      check(/[?&]token=[0-9A-Z]+/.test(v), 'charges.create: credential.paypal has no PayPal order token', v);
    },
  },
  {
    // Frictionless 3-D Secure: decided while polypay creates the charge.
    channel: 'card',
    currency: 'usd',
    paidAtCreate: true,
    extra: async (cfg, pubKey) => ({ source: await cardToken(cfg, pubKey, CARD_FRICTIONLESS) }),
  },
  {
    channel: 'applepay',
    currency: 'usd',
    paidAtCreate: true,
    extra: (cfg) => ({ apple_pay_token: cfg.applePayToken }),
    // Payment data goes to the processor, never back out.
    secretExtra: ['apple_pay_token'],
  },
];

// Channels whose funds can be held (capture=false) and captured later.
const PREAUTH_CHANNELS = [
  {
    channel: 'paypal',
    currency: 'usd',
    credential(v) {
      check(isHttpURL(v), 'charges.create: credential.paypal is not the approval URL string (spec §3.3)', v);
    },
  },
  {
    // Challenged, so the hold waits for the customer's 3-D Secure step.
    channel: 'card',
    currency: 'usd',
    extra: async (cfg, pubKey) => ({ source: await cardToken(cfg, pubKey, CARD_CHALLENGE) }),
    credential(v) {
      checkChallenge(v, 'charges.create: credential.card');
    },
  },
];

// Runs `fn` (which must reject) and returns the error.
async function expectReject(promise, what) {
  let result;
  try {
    result = await promise;
  } catch (e) {
    return e;
  }
  fail(what + ': the call succeeded but should have failed; got ' + short(result));
}

// Refunds REFUND_AMOUNT with the SDK, follows it to succeeded and checks
// its verified refund.succeeded webhook.
async function partialRefund(sdk, hooks, pubKey, channel, chargeId, orderNo) {
  step = channel + ': charges.createRefund';
  let re = await sdk.charges.createRefund(chargeId, { amount: REFUND_AMOUNT, description: 'compat partial refund' });
  checkRefund(re, channel + ': charges.createRefund', chargeId, orderNo);
  check(re.description === 'compat partial refund', channel + ': charges.createRefund: description', re.description);
  const refundId = re.id;
  if (re.status === 'pending') {
    step = channel + ': charges.retrieveRefund (polling)';
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (re.status === 'pending' && Date.now() < deadline) {
      await sleep(250);
      re = await sdk.charges.retrieveRefund(chargeId, refundId);
      checkRefund(re, channel + ': charges.retrieveRefund', chargeId, orderNo);
    }
  }
  check(re.status === 'succeeded', channel + ': refund did not become succeeded within ' + STEP_TIMEOUT_MS + ' ms', re);
  check(re.succeed === true, channel + ': refund: succeed is not true', re.succeed);
  check(isInt(re.time_succeed), channel + ': refund: time_succeed is not an integer once succeeded', re.time_succeed);

  step = channel + ': charges.retrieveRefund';
  const gotRe = await sdk.charges.retrieveRefund(chargeId, refundId);
  checkRefund(gotRe, channel + ': charges.retrieveRefund', chargeId, orderNo);
  check(gotRe.id === refundId && gotRe.status === 'succeeded', channel + ': charges.retrieveRefund: wrong refund or status', gotRe);

  // --- refund.succeeded webhook
  step = channel + ': refund.succeeded webhook';
  const refundHook = await hooks.waitFor('refund.succeeded', refundId, STEP_TIMEOUT_MS);
  const refundEvent = checkWebhook(refundHook, 'refund.succeeded', 'refund', refundId, pubKey);
  check(refundEvent.data.object.status === 'succeeded', channel + ': refund.succeeded webhook: data.object.status', refundEvent.data.object.status);
  check(refundEvent.data.object.amount === REFUND_AMOUNT, channel + ': refund.succeeded webhook: data.object.amount', refundEvent.data.object.amount);
  return { refundId, refundEvent };
}

// What a browser does with a upacp_wap / upacp_pc credential: it
// auto-submits the fields as a POST form to UnionPay's front gateway, where
// the simulator checks the signature as UnionPay does and answers with its
// card page (spec §3.3). pingpp-js posts every key to UnionPay's production
// gateway, so a live credential has only signed fields; a sandbox one names
// its gateway in channel_url, taken out as pingpp-js does for upacp_b2b.
async function submitUnionPayForm(v, channel) {
  step = channel + ': front-gateway form post';
  const action = v.channel_url;
  check(isHttpURL(action) && action.endsWith('/gateway/api/frontTransReq.do'),
    channel + ': the sandbox credential does not name its front gateway in channel_url', v);
  const u = new URL(action);
  const form = new URLSearchParams();
  for (const [k, x] of Object.entries(v)) {
    if (k !== 'channel_url') form.append(k, x);
  }
  const body = Buffer.from(form.toString(), 'utf8');
  const res = await new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, method: 'POST', path: u.pathname + u.search, agent: false,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length },
    }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', reject);
    });
    req.setTimeout(STEP_TIMEOUT_MS, () => req.destroy(new Error('POST ' + action + ': timed out')));
    req.on('error', reject);
    req.end(body);
  });
  check(res.status === 200 && res.text.includes('name="card"') && !res.text.includes('respCode='),
    channel + ': the front gateway did not accept the credential form (signature or fields)', res.text.slice(0, 500));
}

// Runs the whole flow on one channel and returns what later checks need.
async function channelFlow(cfg, sdk, hooks, pubKey, spec) {
  const channel = spec.channel;
  const currency = spec.currency || 'cny';
  const orderNo = 'cmp' + Date.now() + randomAlnum(8);
  step = channel + ': extra';
  const extra = typeof spec.extra === 'function' ? await spec.extra(cfg, pubKey) : spec.extra;
  const secret = spec.secretExtra || [];
  // The scan channels and frictionless cards have no customer step left.
  const paidAtCreate = Boolean(spec.scan || spec.paidAtCreate);

  // --- charges.create
  step = channel + ': charges.create';
  const chargeParams = {
    order_no: orderNo,
    app: { id: cfg.app },
    channel,
    amount: CHARGE_AMOUNT,
    client_ip: '127.0.0.1',
    currency,
    subject: 'compat subject',
    body: 'compat body: Ping++ Node SDK 2.1.6',
  };
  if (extra !== undefined) chargeParams.extra = extra;
  const ch = await sdk.charges.create(JSON.parse(JSON.stringify(chargeParams)));
  checkCharge(ch, channel + ': charges.create', cfg.app, orderNo, channel, currency);
  for (const [k, v] of Object.entries(extra || {})) {
    if (secret.includes(k)) {
      check(!JSON.stringify(ch).includes(JSON.stringify(v)), channel + ': charges.create: extra.' + k + ' (payment data) is echoed', ch.extra);
    } else {
      check(ch.extra[k] === v, channel + ': charges.create: extra.' + k + ' is not echoed (spec §2.2.2)', ch.extra);
    }
  }
  if (paidAtCreate) {
    // The merchant scanned the customer's code, or the card needed no
    // challenge: paid by create itself.
    check(ch.paid === true, channel + ': charges.create: a charge with no customer step is not paid in the create reply', ch);
    check(isInt(ch.time_paid), channel + ': charges.create: time_paid is not an integer on a paid charge', ch.time_paid);
    checkScanCredential(ch.credential, channel);
  } else {
    check(ch.paid === false, channel + ': charges.create: a new charge is already paid', ch.paid);
    check(ch.credential.object === 'credential', channel + ': charges.create: credential.object != "credential" (spec §3.3)', ch.credential);
    // Clients read credential[charge.channel] (spec §3.3).
    check(channel in ch.credential, channel + ': charges.create: credential has no "' + channel + '" key (spec §3.3)', ch.credential);
    spec.credential(ch.credential[channel]);
    if (spec.sdk) spec.sdk(sdk, ch);
    if (spec.form) await submitUnionPayForm(ch.credential[channel], channel);

    // --- Same order_no, same params, no Idempotency-Key: the same unpaid charge (spec §1.11).
    step = channel + ': charges.create duplicate';
    const ch2 = await sdk.charges.create(JSON.parse(JSON.stringify(chargeParams)));
    check(isPlainObject(ch2) && ch2.id === ch.id,
      channel + ': charges.create with the same order_no and params returned another charge', { first: ch.id, second: ch2 && ch2.id });

    // --- charges.retrieve
    step = channel + ': charges.retrieve';
    const got = await sdk.charges.retrieve(ch.id);
    checkCharge(got, channel + ': charges.retrieve', cfg.app, orderNo, channel, currency);
    check(got.id === ch.id, channel + ': charges.retrieve: id', got.id);
    check(got.paid === false, channel + ': charges.retrieve: paid before paying', got.paid);
  }

  // --- Pay in the sandbox (plain HTTP, basic auth); refused for charges paid at create.
  step = channel + ': test pay';
  const pay = await rawRequest(cfg, 'POST', '/v1/test/charges/' + ch.id + '/pay', { result: 'success' }, cfg.key);
  checkRawReply(pay, channel + ': POST /v1/test/charges/{id}/pay', pubKey);
  if (paidAtCreate) {
    check(pay.status === 400, channel + ': POST /v1/test/charges/{id}/pay on a paid charge: status is not 400', pay.raw.toString('utf8'));
    check(pay.json.error.type === 'invalid_request_error',
      channel + ': POST /v1/test/charges/{id}/pay on a paid charge: error.type', pay.json.error);
  } else {
    check(pay.status === 200, channel + ': POST /v1/test/charges/{id}/pay: status ' + pay.status, pay.raw.toString('utf8'));
    check(isPlainObject(pay.json) && pay.json.id === ch.id && pay.json.paid === true,
      channel + ': POST /v1/test/charges/{id}/pay: reply is not the paid charge', pay.json);
  }

  // --- charge.succeeded webhook
  step = channel + ': charge.succeeded webhook';
  const chargeHook = await hooks.waitFor('charge.succeeded', ch.id, STEP_TIMEOUT_MS);
  const chargeEvent = checkWebhook(chargeHook, 'charge.succeeded', 'charge', ch.id, pubKey);
  check(chargeEvent.data.object.paid === true, channel + ': charge.succeeded webhook: data.object.paid is not true', chargeEvent.data.object.paid);
  check(isInt(chargeEvent.data.object.time_paid), channel + ': charge.succeeded webhook: time_paid is not an integer', chargeEvent.data.object.time_paid);
  check(chargeEvent.data.object.channel === channel, channel + ': charge.succeeded webhook: data.object.channel', chargeEvent.data.object.channel);

  step = channel + ': charges.retrieve after payment';
  const paid = await sdk.charges.retrieve(ch.id);
  checkCharge(paid, channel + ': charges.retrieve (paid)', cfg.app, orderNo, channel, currency);
  check(paid.paid === true, channel + ': charges.retrieve: paid is not true after the charge.succeeded webhook', paid.paid);
  check(isInt(paid.time_paid), channel + ': charges.retrieve: time_paid is not an integer once paid', paid.time_paid);
  check(typeof paid.transaction_no === 'string' && paid.transaction_no !== '',
    channel + ': charges.retrieve: transaction_no is not set once paid', paid.transaction_no);

  // --- charges.createRefund, partial, and its refund.succeeded webhook
  const { refundId, refundEvent } = await partialRefund(sdk, hooks, pubKey, channel, ch.id, orderNo);
  check(refundEvent.id !== chargeEvent.id, channel + ': refund.succeeded webhook reuses the charge event id', refundEvent.id);

  // --- charges.listRefunds
  step = channel + ': charges.listRefunds';
  const refunds = await sdk.charges.listRefunds(ch.id);
  checkList(refunds, '/v1/charges/' + ch.id + '/refunds', channel + ': charges.listRefunds');
  check(refunds.data.some((r) => r && r.id === refundId), channel + ': charges.listRefunds: the refund is not listed',
    refunds.data.map((r) => r && r.id));
  for (const r of refunds.data) checkRefund(r, channel + ': charges.listRefunds item', ch.id, orderNo);

  step = channel + ': charges.retrieve after refund';
  const refunded = await sdk.charges.retrieve(ch.id);
  checkCharge(refunded, channel + ': charges.retrieve (refunded)', cfg.app, orderNo, channel, currency);
  check(refunded.refunded === true, channel + ': charge: refunded is not true after a refund (spec §2.2.2)', refunded.refunded);
  check(refunded.amount_refunded === REFUND_AMOUNT, channel + ': charge: amount_refunded is not ' + REFUND_AMOUNT, refunded.amount_refunded);
  check(refunded.refunds.data.some((r) => r && r.id === refundId), channel + ': charge: embedded refunds do not list the refund',
    refunded.refunds);

  // --- events.retrieve, for both webhook events
  step = channel + ': events.retrieve';
  for (const [hookEvent, objId] of [[chargeEvent, ch.id], [refundEvent, refundId]]) {
    const ev = await sdk.events.retrieve(hookEvent.id);
    check(isPlainObject(ev) && ev.object === 'event', channel + ': events.retrieve: object != "event"', ev);
    check(ev.id === hookEvent.id, channel + ': events.retrieve: id', ev.id);
    check(ev.type === hookEvent.type, channel + ': events.retrieve: type', ev.type);
    check(ev.created === hookEvent.created, channel + ': events.retrieve: created differs from the webhook', ev.created);
    check(ev.livemode === false, channel + ': events.retrieve: livemode', ev.livemode);
    check(isInt(ev.pending_webhooks), channel + ': events.retrieve: pending_webhooks is not an integer', ev.pending_webhooks);
    check(isPlainObject(ev.data) && isPlainObject(ev.data.object) && ev.data.object.id === objId,
      channel + ': events.retrieve: data.object.id', ev.data);
    check(jsonEqual(ev.data, hookEvent.data), channel + ': events.retrieve: data differs from the delivered webhook',
      { retrieved: ev.data, delivered: hookEvent.data });
  }

  return { channel, charge: ch.id, order_no: orderNo, refund: refundId, events: [chargeEvent.id, refundEvent.id] };
}

// POST /v1/charges/{id}/capture (a polypay extension) through the SDK's own
// request machinery: a resource declared with the SDK's public
// PingppResource.extend and PingppResource.method, as its own resources are.
const ChargeCaptures = pingpp.PingppResource.extend({
  path: 'charges',
  capture: pingpp.PingppResource.method({ method: 'POST', path: '/{chargeId}/capture', urlParams: ['chargeId'] }),
});

// Creates a pre-authorization (capture=false) and has the customer approve
// it in the sandbox; returns the held charge and its charge.authorized event.
async function holdFlow(cfg, sdk, hooks, pubKey, spec, tag) {
  const channel = spec.channel;
  const what = channel + ' hold ' + tag;
  const orderNo = 'cmpa' + Date.now() + randomAlnum(6);
  step = what + ': extra';
  const extra = typeof spec.extra === 'function' ? await spec.extra(cfg, pubKey) : spec.extra;

  step = what + ': charges.create capture=false';
  const params = {
    order_no: orderNo, app: { id: cfg.app }, channel, amount: CHARGE_AMOUNT, client_ip: '127.0.0.1',
    currency: spec.currency, subject: 'compat hold', body: 'compat pre-authorization', capture: false,
  };
  if (extra !== undefined) params.extra = extra;
  const ch = await sdk.charges.create(params);
  checkCharge(ch, what + ': charges.create', cfg.app, orderNo, channel, spec.currency);
  check(ch.capture === false, what + ': charges.create: capture is not false on a pre-authorization (README)', ch.capture);
  check(ch.authorized === false && ch.paid === false, what + ': charges.create: held or paid before approval',
    { authorized: ch.authorized, paid: ch.paid });
  check(ch.credential.object === 'credential' && channel in ch.credential, what + ': charges.create: credential envelope', ch.credential);
  spec.credential(ch.credential[channel]);

  step = what + ': test pay (approve)';
  const pay = await rawRequest(cfg, 'POST', '/v1/test/charges/' + ch.id + '/pay', { result: 'success' }, cfg.key);
  checkRawReply(pay, what + ': POST /v1/test/charges/{id}/pay', pubKey);
  check(pay.status === 200 && isPlainObject(pay.json) && pay.json.id === ch.id && pay.json.paid === false,
    what + ': POST /v1/test/charges/{id}/pay: not the unpaid charge', pay.raw.toString('utf8'));

  step = what + ': charge.authorized webhook';
  const hook = await hooks.waitFor('charge.authorized', ch.id, STEP_TIMEOUT_MS);
  const ev = checkWebhook(hook, 'charge.authorized', 'charge', ch.id, pubKey);
  check(ev.data.object.authorized === true && ev.data.object.paid === false,
    what + ': charge.authorized webhook: data.object is not held and unpaid', ev.data.object);

  step = what + ': charges.retrieve (held)';
  const held = await sdk.charges.retrieve(ch.id);
  checkCharge(held, what + ': charges.retrieve', cfg.app, orderNo, channel, spec.currency);
  check(held.authorized === true && held.paid === false && held.reversed === false,
    what + ': charges.retrieve: not authorized, unpaid and unreversed', held);
  check(isInt(held.time_authorized) && isInt(held.time_hold_expire) && held.time_hold_expire > held.time_authorized,
    what + ': charges.retrieve: time_authorized / time_hold_expire', { time_authorized: held.time_authorized, time_hold_expire: held.time_hold_expire });
  check(!('amount_captured' in held), what + ': charges.retrieve: amount_captured before capture', held.amount_captured);
  return { ch: held, orderNo, events: [ev.id] };
}

// Pre-authorization on one channel: one hold captured for less than held
// (then partly refunded), another voided with charges.reverse.
async function preauthFlow(cfg, sdk, hooks, pubKey, spec) {
  const channel = spec.channel;
  const captures = new ChargeCaptures(sdk);

  const a = await holdFlow(cfg, sdk, hooks, pubKey, spec, 'A');
  step = channel + ' hold A: capture ' + CAPTURE_AMOUNT + ' (SDK resource)';
  const cap = await captures.capture(a.ch.id, { amount: CAPTURE_AMOUNT });
  checkCharge(cap, channel + ': capture', cfg.app, a.orderNo, channel, spec.currency);
  check(cap.paid === true && cap.authorized === false && cap.amount_captured === CAPTURE_AMOUNT && cap.amount === CHARGE_AMOUNT,
    channel + ': capture: not paid with amount_captured ' + CAPTURE_AMOUNT + ' of ' + CHARGE_AMOUNT,
    { paid: cap.paid, authorized: cap.authorized, amount_captured: cap.amount_captured, amount: cap.amount });
  check(isInt(cap.time_paid), channel + ': capture: time_paid is not an integer', cap.time_paid);
  const again = await captures.capture(a.ch.id, { amount: CAPTURE_AMOUNT });
  check(again.id === cap.id && again.amount_captured === CAPTURE_AMOUNT, channel + ': a repeated capture is not the same captured charge', again);
  const events = a.events.slice();
  for (const type of ['charge.captured', 'charge.succeeded']) {
    step = channel + ' hold A: ' + type + ' webhook';
    const ev = checkWebhook(await hooks.waitFor(type, cap.id, STEP_TIMEOUT_MS), type, 'charge', cap.id, pubKey);
    check(ev.data.object.paid === true && ev.data.object.amount_captured === CAPTURE_AMOUNT,
      channel + ': ' + type + ' webhook: data.object is not the captured charge', ev.data.object);
    events.push(ev.id);
  }
  const { refundId, refundEvent } = await partialRefund(sdk, hooks, pubKey, channel, cap.id, a.orderNo);
  events.push(refundEvent.id);
  step = channel + ' hold A: charges.retrieve after refund';
  const after = await sdk.charges.retrieve(cap.id);
  check(after.amount_refunded === REFUND_AMOUNT && after.refunded === true && after.amount_captured === CAPTURE_AMOUNT,
    channel + ': captured charge after refund', after);

  const b = await holdFlow(cfg, sdk, hooks, pubKey, spec, 'B');
  step = channel + ' hold B: charges.reverse';
  const rev = await sdk.charges.reverse(b.ch.id, {});
  checkCharge(rev, channel + ': charges.reverse', cfg.app, b.orderNo, channel, spec.currency);
  check(rev.reversed === true && rev.paid === false && rev.authorized === false && !('amount_captured' in rev),
    channel + ': charges.reverse: the hold is not voided', rev);
  step = channel + ' hold B: charge.reversed webhook';
  const revEv = checkWebhook(await hooks.waitFor('charge.reversed', rev.id, STEP_TIMEOUT_MS), 'charge.reversed', 'charge', rev.id, pubKey);
  check(revEv.data.object.reversed === true, channel + ': charge.reversed webhook: data.object.reversed', revEv.data.object.reversed);
  step = channel + ' hold B: capture after void';
  const e = await expectReject(captures.capture(rev.id, {}), channel + ': capture of a voided hold');
  check(e instanceof PingppErrors.PingppInvalidRequestError && e.rawType === 'invalid_request_error',
    channel + ': capture of a voided hold: not an invalid_request_error', { type: e.type, rawType: e.rawType, message: e.message });
  const voided = await sdk.charges.retrieve(rev.id);
  check(voided.reversed === true && voided.authorized === false && voided.paid === false, channel + ': charges.retrieve after void', voided);

  return { channel, captured: cap.id, refund: refundId, voided: rev.id, events: events.concat(b.events, [revEv.id]) };
}

// --- Payouts (spec §2.5–2.8) on the alipay channel, paid by the sandbox's
// Alipay simulator. Its documented sandbox payees (sim/alipaysim fund.go)
// are paid by any transfer within their limits.
const PAYEES = [
  { account: 'payee@sandbox.com', name: '沙箱环境' },
  { account: '13800138000', name: '张三' },
  { account: 'unverified@sandbox.com', name: '李四' },
];
const TRANSFER_AMOUNT = 1000;

function checkTransfer(t, what, app, orderNo, amount) {
  check(isPlainObject(t), what + ': not an object', t);
  check(t.object === 'transfer', what + ': object != "transfer"', t.object);
  check(typeof t.id === 'string' && /^tr_[0-9A-Za-z]{24}$/.test(t.id), what + ': id is not tr_ + 24 characters', t.id);
  check(t.livemode === false, what + ': livemode is not false', t.livemode);
  check(t.app === app, what + ': app is not the app id string', t.app);
  check(t.channel === 'alipay' && t.type === 'b2c' && t.currency === 'cny', what + ': channel, type or currency', t);
  if (orderNo !== undefined) check(t.order_no === orderNo, what + ': order_no', t.order_no);
  check(t.amount === amount, what + ': amount', t.amount);
  check(isInt(t.created), what + ': created is not an integer', t.created);
  check(t.time_transferred === null || isInt(t.time_transferred), what + ': time_transferred is neither null nor an integer', t.time_transferred);
  check(['scheduled', 'pending', 'paid', 'failed', 'canceled'].includes(t.status), what + ': status', t.status);
  for (const f of ['extra', 'metadata']) {
    check(isPlainObject(t[f]), what + ': ' + f + ' is not an object', t[f]);
  }
}

function checkBatchTransfer(b, what, app, batchNo, amount, n) {
  check(isPlainObject(b), what + ': not an object', b);
  check(b.object === 'batch_transfer', what + ': object != "batch_transfer"', b.object);
  check(typeof b.id === 'string' && /^[0-9]{18}$/.test(b.id), what + ': id is not 18 digits (spec §2.6)', b.id);
  check(b.app === app && b.batch_no === batchNo && b.channel === 'alipay', what + ': app, batch_no or channel', b);
  check(b.amount === amount && b.currency === 'cny' && b.type === 'b2c', what + ': amount, currency (cny by default) or type', b);
  check(isInt(b.created) && isInt(b.fee), what + ': created or fee is not an integer', b);
  check(Array.isArray(b.recipients) && b.recipients.length === n, what + ': recipients', b.recipients);
  for (const r of b.recipients) {
    check(isPlainObject(r) && /^tr_[0-9A-Za-z]{24}$/.test(r.transfer) && typeof r.status === 'string',
      what + ': a recipient has no transfer id or status (spec §2.6)', r);
  }
}

// Retrieves with get until done(obj), as test mode decides payouts when
// the merchant looks (spec §2.5).
async function until(get, done, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const obj = await get();
    if (done(obj) || Date.now() > deadline) {
      check(done(obj), what + ': not decided within ' + STEP_TIMEOUT_MS + ' ms', obj);
      return obj;
    }
    await sleep(200);
  }
}

async function transferFlow(cfg, sdk, hooks, pubKey) {
  step = 'transfers.create';
  const orderNo = 'tr' + Date.now() + randomAlnum(8);
  const params = {
    app: { id: cfg.app }, channel: 'alipay', order_no: orderNo, amount: TRANSFER_AMOUNT, type: 'b2c', currency: 'cny',
    recipient: PAYEES[0].account, description: 'compat transfer', extra: { recipient_name: PAYEES[0].name },
    metadata: { compat: 'node' },
  };
  const tr = await sdk.transfers.create(JSON.parse(JSON.stringify(params)));
  checkTransfer(tr, 'transfers.create', cfg.app, orderNo, TRANSFER_AMOUNT);
  check(tr.status === 'pending' && tr.time_transferred === null, 'transfers.create: not pending (spec §2.5 test mode)', tr);
  check(tr.recipient === PAYEES[0].account && tr.extra.recipient_name === PAYEES[0].name && tr.metadata.compat === 'node',
    'transfers.create: recipient, extra or metadata not as sent', tr);
  const again = await sdk.transfers.create(JSON.parse(JSON.stringify(params)));
  check(again.id === tr.id, 'transfers.create: the same order_no and parameters made another transfer', again);
  step = 'transfers.create: order_no reused';
  const e = await expectReject(sdk.transfers.create(Object.assign({}, params, { amount: TRANSFER_AMOUNT + 1 })),
    'transfers.create with a used order_no and another amount');
  check(e instanceof PingppErrors.PingppInvalidRequestError && e.param === 'order_no',
    'transfers.create with a used order_no: not an invalid_request_error naming order_no', { type: e.type, param: e.param, message: e.message });

  step = 'transfers.retrieve';
  const paid = await until(() => sdk.transfers.retrieve(tr.id), (t) => t.status === 'paid', 'transfers.retrieve');
  checkTransfer(paid, 'transfers.retrieve', cfg.app, orderNo, TRANSFER_AMOUNT);
  check(paid.amount_settle === TRANSFER_AMOUNT && isInt(paid.time_transferred) && typeof paid.transaction_no === 'string',
    'transfers.retrieve: a paid transfer lacks amount_settle, time_transferred or transaction_no', paid);
  step = 'transfer.succeeded webhook';
  const ev = checkWebhook(await hooks.waitFor('transfer.succeeded', tr.id, STEP_TIMEOUT_MS), 'transfer.succeeded', 'transfer', tr.id, pubKey);
  check(ev.data.object.status === 'paid', 'transfer.succeeded webhook: data.object.status', ev.data.object.status);

  step = 'transfers.list';
  const list = await sdk.transfers.list({ limit: 10 });
  checkList(list, '/v1/transfers', 'transfers.list');
  check(list.data.some((t) => t && t.id === tr.id), 'transfers.list: the transfer is not listed', list.data);
  return { transfer: tr.id, events: [ev.id] };
}

async function batchTransferFlow(cfg, sdk, hooks, pubKey) {
  step = 'batchTransfers.create';
  const batchNo = 'bt' + Date.now() + randomAlnum(6);
  const recipients = PAYEES.map((p, i) => ({ account: p.account, amount: 100 * (i + 1), name: p.name }));
  // As NODE's docs/batch_transfer.md: app a string, no currency.
  const bt = await sdk.batchTransfers.create({ app: cfg.app, batch_no: batchNo, channel: 'alipay', amount: 600,
    description: 'compat batch transfer', recipients, type: 'b2c' });
  checkBatchTransfer(bt, 'batchTransfers.create', cfg.app, batchNo, 600, 3);

  step = 'batchTransfers.retrieve';
  const done = await until(() => sdk.batchTransfers.retrieve(bt.id), (b) => b.status === 'succeeded', 'batchTransfers.retrieve');
  checkBatchTransfer(done, 'batchTransfers.retrieve', cfg.app, batchNo, 600, 3);
  check(isInt(done.time_succeeded), 'batchTransfers.retrieve: time_succeeded is not an integer once succeeded', done.time_succeeded);
  const events = [];
  for (const r of done.recipients) {
    check(r.status === 'paid', 'batchTransfers.retrieve: a recipient is not paid', r);
    step = 'batch member transfer.succeeded webhook';
    events.push(checkWebhook(await hooks.waitFor('transfer.succeeded', r.transfer, STEP_TIMEOUT_MS), 'transfer.succeeded', 'transfer', r.transfer, pubKey).id);
    const member = await sdk.transfers.retrieve(r.transfer);
    checkTransfer(member, 'transfers.retrieve (batch member)', cfg.app, r.order_no, r.amount);
    check(member.batch_no === bt.id && member.status === 'paid', 'batch member: batch_no is not the batch id, or not paid', member);
  }
  step = 'batch_transfer.succeeded webhook';
  const ev = checkWebhook(await hooks.waitFor('batch_transfer.succeeded', bt.id, STEP_TIMEOUT_MS),
    'batch_transfer.succeeded', 'batch_transfer', bt.id, pubKey);
  check(ev.data.object.status === 'succeeded', 'batch_transfer.succeeded webhook: data.object.status', ev.data.object.status);
  events.push(ev.id);

  step = 'batchTransfers.list';
  const list = await sdk.batchTransfers.list({ page: 1 });
  checkList(list, '/v1/batch_transfers', 'batchTransfers.list({page: 1})');
  check(list.data.some((b) => b && b.id === bt.id), 'batchTransfers.list: the batch is not listed', list.data);
  step = 'batchTransfers.cancel';
  const e = await expectReject(sdk.batchTransfers.cancel(bt.id), 'batchTransfers.cancel of a succeeded batch');
  check(e instanceof PingppErrors.PingppInvalidRequestError && e.param === 'status',
    'batchTransfers.cancel of a succeeded batch: not an invalid_request_error naming status', { type: e.type, param: e.param, message: e.message });
  return { batch_transfer: bt.id, events };
}

// A sandbox payee of the WeChat simulator, under every appid
// (sim/wechatsim payee.go SandboxPayees).
const SANDBOX_OPENID = 'oUpF8uSandboxPayee0000000001';

// Red envelopes (spec §2.7) need the WeChat connector's v2 API
// (api_v2_key, api_cert): where the sandbox's WeChat credentials lack
// them, create is refused naming channel and the flow reports itself
// skipped. Sent at create (red_envelope.sent), the envelope is opened by
// the simulator when the merchant first retrieves it (red_envelope.received).
async function redEnvelopeFlow(cfg, sdk, hooks, pubKey) {
  step = 'redEnvelopes.list';
  const list = await sdk.redEnvelopes.list({ limit: 3 });
  checkList(list, '/v1/red_envelopes', 'redEnvelopes.list');
  step = 'redEnvelopes.retrieve (unknown)';
  const missing = 'red_' + randomAlnum(24);
  const e404 = await expectReject(sdk.redEnvelopes.retrieve(missing), 'redEnvelopes.retrieve(' + missing + ')');
  check(e404 instanceof PingppErrors.PingppInvalidRequestError && e404.param === 'id', 'unknown red envelope: not 404 naming id', e404);

  step = 'redEnvelopes.create';
  const orderNo = randomDigits(20);
  let re;
  try {
    re = await sdk.redEnvelopes.create({ app: { id: cfg.app }, channel: 'wx_pub', order_no: orderNo, amount: 100, currency: 'cny',
      recipient: SANDBOX_OPENID, subject: 'compat', body: '恭喜发财', description: 'compat red envelope',
      extra: { send_name: 'polypay compat', nick_name: 'polypay' } });
  } catch (e) {
    if (e instanceof PingppErrors.PingppInvalidRequestError && e.param === 'channel') {
      return { skipped: e.message, events: [] };
    }
    throw e;
  }
  check(isPlainObject(re) && re.object === 'red_envelope' && /^red_[0-9A-Za-z]{24}$/.test(re.id), 'redEnvelopes.create: not a red_envelope', re);
  check(re.app === cfg.app && re.order_no === orderNo && re.amount === 100 && re.channel === 'wx_pub', 'redEnvelopes.create: fields', re);
  for (const f of ['received', 'refunded']) {
    check(re[f] === null || isInt(re[f]), 'redEnvelopes.create: ' + f + ' is neither null nor a timestamp (spec §2.7)', re[f]);
  }
  step = 'redEnvelopes.retrieve';
  const got = await until(() => sdk.redEnvelopes.retrieve(re.id), (r) => r.status === 'received', 'redEnvelopes.retrieve');
  check(isInt(got.received) && got.refunded === null && typeof got.transaction_no === 'string',
    'redEnvelopes.retrieve: an opened envelope lacks received or transaction_no (spec §2.7)', got);
  const events = [];
  for (const type of ['red_envelope.sent', 'red_envelope.received']) {
    step = type + ' webhook';
    events.push(checkWebhook(await hooks.waitFor(type, re.id, STEP_TIMEOUT_MS), type, 'red_envelope', re.id, pubKey).id);
  }
  step = 'redEnvelopes.list';
  const after = await sdk.redEnvelopes.list({ limit: 3 });
  checkList(after, '/v1/red_envelopes', 'redEnvelopes.list');
  check(after.data.some((r) => r && r.id === re.id), 'redEnvelopes.list: the envelope is not listed', after.data);
  return { red_envelope: re.id, events };
}

// Batch refunds: NODE 2.1.6's batchRefunds resource posts to
// /v1/charges/undefined/refunds (spec §2.1 note), which makes no batch;
// the batch is made with plain HTTP, refunding what is left of two charges
// the channel flows paid and partly refunded.
async function batchRefundFlow(cfg, sdk, hooks, pubKey, flows) {
  step = 'batchRefunds.create (the SDK\'s broken path)';
  const batchNo = 'br' + randomAlnum(12);
  const charges = flows.filter((f) => f.channel === 'alipay_qr' || f.channel === 'alipay').map((f) => f.charge);
  check(charges.length === 2, 'batch refund: the alipay_qr and alipay flows made no charges', flows);
  const body = { app: cfg.app, batch_no: batchNo, description: 'compat batch refund', charges: charges.map((c) => ({ charge: c })) };
  const broken = await expectReject(sdk.batchRefunds.create(body), 'batchRefunds.create');
  check(broken instanceof PingppErrors.PingppInvalidRequestError, 'batchRefunds.create: not an invalid_request_error',
    { type: broken.type, param: broken.param, message: broken.message });

  step = 'POST /v1/batch_refunds';
  const res = await rawRequest(cfg, 'POST', '/v1/batch_refunds', body, cfg.key);
  checkRawReply(res, 'POST /v1/batch_refunds', pubKey);
  check(res.status === 200, 'POST /v1/batch_refunds: status ' + res.status, res.json);
  const br = res.json;
  check(br.object === 'batch_refund' && /^[0-9]{18}$/.test(br.id) && br.batch_no === batchNo && br.app === cfg.app,
    'POST /v1/batch_refunds: not the batch refund asked for (spec §2.8)', br);
  check(Array.isArray(br.charges) && br.charges.length === 2 &&
    br.charges.every((c) => charges.includes(c.charge) && c.amount === CHARGE_AMOUNT - REFUND_AMOUNT),
    'POST /v1/batch_refunds: charges[] does not refund what was left of each charge', br.charges);
  checkList(br.refunds, '/v1/batch_refunds/' + br.id + '/refunds', 'batch refund refunds');

  step = 'GET /v1/batch_refunds/{id}';
  const done = await until(async () => {
    const r = await rawRequest(cfg, 'GET', '/v1/batch_refunds/' + br.id, undefined, cfg.key);
    checkRawReply(r, 'GET /v1/batch_refunds/{id}', pubKey);
    return r.json;
  }, (b) => b.status === 'succeeded', 'GET /v1/batch_refunds/{id}');
  check(isInt(done.time_succeeded), 'batch refund: time_succeeded is not an integer once succeeded', done.time_succeeded);
  const events = [];
  for (const c of done.charges) {
    check(c.status === 'succeeded' && /^re_[0-9A-Za-z]{24}$/.test(c.refund), 'batch refund: a charge was not refunded', c);
    step = 'batch refund: refund.succeeded webhook';
    events.push(checkWebhook(await hooks.waitFor('refund.succeeded', c.refund, STEP_TIMEOUT_MS), 'refund.succeeded', 'refund', c.refund, pubKey).id);
    const ch = await sdk.charges.retrieve(c.charge);
    check(ch.refunded === true && ch.amount_refunded === CHARGE_AMOUNT, 'batch refund: the charge is not refunded in full', ch);
  }
  step = 'batch_refund.succeeded webhook';
  events.push(checkWebhook(await hooks.waitFor('batch_refund.succeeded', br.id, STEP_TIMEOUT_MS),
    'batch_refund.succeeded', 'batch_refund', br.id, pubKey).id);

  step = 'GET /v1/batch_refunds?page=1';
  const list = await rawRequest(cfg, 'GET', '/v1/batch_refunds?page=1&per_page=10', undefined, cfg.key);
  checkRawReply(list, 'GET /v1/batch_refunds', pubKey);
  checkList(list.json, '/v1/batch_refunds', 'GET /v1/batch_refunds');
  check(list.json.data.some((b) => b && b.id === br.id), 'GET /v1/batch_refunds: the batch is not listed', list.json.data);
  return { batch_refund: br.id, events };
}

// --- The account system (spec §2.11): users with stored value, balance
// bonuses, balance transfers between users, recharges paid by a charge,
// settle accounts and withdrawals paid out by a transfer (one by one or
// confirmed in a batch), and the balance transactions that record every
// movement, under /v1/apps/{app}, through the SDK's own users,
// balanceBonuses, balanceTransfers, recharge, settleAccounts, withdrawals,
// batchWithdrawals and balanceTransactions.
const BONUS_AMOUNT = 1000;
const BALANCE_TRANSFER_AMOUNT = 300;
const BALANCE_TRANSFER_FEE = 10;
const RECHARGE_AMOUNT = 500; // the recharge's charge, on alipay_qr
const RECHARGE_FEE = 5; // the merchant keeps it: the user gets 495
const RECHARGE_BONUS = 50; // credited with it as a balance bonus
const WITHDRAWAL_AMOUNT = 200; // held from the balance at create
const WITHDRAWAL_FEE = 10; // the merchant keeps it: the transfer pays 190
const CANCELED_WITHDRAWAL = 100; // a second withdrawal, canceled: given back
const BATCH_WITHDRAWALS = [150, 50]; // two more, confirmed by one batch withdrawal

function checkUser(u, what, app, id, balance) {
  check(isPlainObject(u), what + ': not an object', u);
  check(u.object === 'user', what + ': object != "user"', u.object);
  check(u.id === id, what + ': id is not the id the merchant chose', u.id);
  check(u.app === app, what + ': app is not the app id string', u.app);
  check(u.livemode === false, what + ': livemode is not false', u.livemode);
  check(u.type === 'customer', what + ': type is not customer by default', u.type);
  check(u.disabled === false, what + ': disabled is not false', u.disabled);
  check(isInt(u.created), what + ': created is not an integer', u.created);
  check(isPlainObject(u.metadata), what + ': metadata is not an object', u.metadata);
  check(isInt(u.withdrawable_balance) && isInt(u.available_coupons) && Array.isArray(u.settle_accounts),
    what + ': withdrawable_balance, available_coupons or settle_accounts', u);
  if (balance !== undefined) {
    check(u.available_balance === balance, what + ': available_balance is not ' + balance, u.available_balance);
  }
}

function checkBonus(b, what, app, user, orderNo) {
  check(isPlainObject(b), what + ': not an object', b);
  check(b.object === 'balance_bonus', what + ': object != "balance_bonus"', b.object);
  check(typeof b.id === 'string' && /^bb_[0-9A-Za-z]{24}$/.test(b.id), what + ': id is not bb_ + 24 characters', b.id);
  check(b.app === app && b.livemode === false, what + ': app or livemode', b);
  check(b.user === user && b.amount === BONUS_AMOUNT && b.order_no === orderNo, what + ': user, amount or order_no', b);
  check(b.paid === true && isInt(b.time_paid) && isInt(b.created), what + ': not paid when made, or times not integers', b);
  check(typeof b.balance_transaction === 'string' && /^btx_/.test(b.balance_transaction),
    what + ': balance_transaction is not a btx_ id', b.balance_transaction);
  check(isPlainObject(b.metadata), what + ': metadata is not an object', b.metadata);
}

function checkBalanceTransfer(t, what, app, user, recipient, orderNo) {
  check(isPlainObject(t), what + ': not an object', t);
  check(t.object === 'balance_transfer', what + ': object != "balance_transfer"', t.object);
  check(typeof t.id === 'string' && /^btr_[0-9A-Za-z]{24}$/.test(t.id), what + ': id is not btr_ + 24 characters', t.id);
  check(t.app === app && t.livemode === false, what + ': app or livemode', t);
  check(t.status === 'succeeded', what + ': status is not succeeded', t.status);
  check(t.user === user && t.recipient === recipient && t.order_no === orderNo, what + ': user, recipient or order_no', t);
  check(t.amount === BALANCE_TRANSFER_AMOUNT && t.user_fee === BALANCE_TRANSFER_FEE, what + ': amount or user_fee', t);
  check(/^btx_/.test(t.user_balance_transaction || '') && /^btx_/.test(t.recipient_balance_transaction || ''),
    what + ': user_balance_transaction or recipient_balance_transaction is not a btx_ id', t);
  check(isInt(t.created) && isPlainObject(t.metadata), what + ': created or metadata', t);
}

function checkRecharge(r, what, app, user, orderNo) {
  check(isPlainObject(r), what + ': not an object', r);
  check(r.object === 'recharge', what + ': object != "recharge"', r.object);
  check(typeof r.id === 'string' && /^rch_[0-9A-Za-z]{24}$/.test(r.id), what + ': id is not rch_ + 24 characters', r.id);
  check(r.app === app && r.livemode === false, what + ': app or livemode', r);
  check(r.user === user && r.from_user === user, what + ': user or from_user', r);
  check(r.amount === RECHARGE_AMOUNT && r.user_fee === RECHARGE_FEE, what + ': amount or user_fee', r);
  check(typeof r.succeeded === 'boolean' && r.refunded === false, what + ': succeeded or refunded', r);
  check(isInt(r.created) && isPlainObject(r.metadata), what + ': created or metadata', r);
  // The charge is embedded whole, as /v1/charges answers it.
  checkCharge(r.charge, what + ': charge', app, orderNo, 'alipay_qr', 'cny', RECHARGE_AMOUNT);
  if (r.succeeded) {
    check(isInt(r.time_succeeded) && /^btx_/.test(r.balance_transaction || ''), what + ': time_succeeded or balance_transaction once succeeded', r);
    check(r.charge.paid === true, what + ': succeeded but its charge is not paid', r.charge);
    check(isPlainObject(r.balance_bonus) && r.balance_bonus.object === 'balance_bonus' && r.balance_bonus.amount === RECHARGE_BONUS &&
      r.balance_bonus.user === user && r.balance_bonus.paid === true, what + ': balance_bonus is not the credited bonus', r.balance_bonus);
  } else {
    check(r.time_succeeded === null && r.balance_transaction === null && r.balance_bonus === null,
      what + ': time_succeeded, balance_transaction or balance_bonus set before the payment', r);
    check(r.charge.paid === false, what + ': the charge is paid before paying', r.charge);
  }
}

function checkSettleAccount(a, what, app, user, channel, payee) {
  check(isPlainObject(a), what + ': not an object', a);
  check(a.object === 'settle_account', what + ': object != "settle_account"', a.object);
  check(typeof a.id === 'string' && /^sa_[0-9A-Za-z]{24}$/.test(a.id), what + ': id is not sa_ + 24 characters', a.id);
  check(a.app === app && a.livemode === false && a.user === user && a.channel === channel, what + ': app, livemode, user or channel', a);
  check(isPlainObject(a.recipient) && a.recipient.account === payee.account && a.recipient.name === payee.name,
    what + ': recipient not as sent', a.recipient);
  check(isInt(a.created), what + ': created is not an integer', a.created);
}

function checkWithdrawal(w, what, app, user, orderNo, amount, fee, settleAccount) {
  check(isPlainObject(w), what + ': not an object', w);
  check(w.object === 'withdrawal', what + ': object != "withdrawal"', w.object);
  check(typeof w.id === 'string' && /^wd_[0-9A-Za-z]{24}$/.test(w.id), what + ': id is not wd_ + 24 characters', w.id);
  check(w.app === app && w.livemode === false && w.user === user && w.order_no === orderNo, what + ': app, livemode, user or order_no', w);
  check(w.amount === amount && w.user_fee === fee && w.fee === 0 && w.channel === 'alipay', what + ': amount, user_fee, fee or channel', w);
  check(w.settle_account === settleAccount, what + ': settle_account is not the user\'s alipay settle account', w.settle_account);
  check(/^btx_/.test(w.balance_transaction || ''), what + ': balance_transaction is not a btx_ id', w.balance_transaction);
  check(['created', 'pending', 'succeeded', 'failed', 'canceled'].includes(w.status), what + ': status', w.status);
  check(w.transfer === null || /^tr_[0-9A-Za-z]{24}$/.test(w.transfer), what + ': transfer is neither null nor a tr_ id', w.transfer);
  check(w.time_succeeded === null || isInt(w.time_succeeded), what + ': time_succeeded', w.time_succeeded);
  check(w.time_canceled === null || isInt(w.time_canceled), what + ': time_canceled', w.time_canceled);
  check(isInt(w.created) && isPlainObject(w.metadata), what + ': created or metadata', w);
}

function checkBalanceTxn(x, what, app, user, type, amount, after) {
  check(isPlainObject(x), what + ': not an object', x);
  check(x.object === 'balance_transaction', what + ': object != "balance_transaction"', x.object);
  check(typeof x.id === 'string' && /^btx_[0-9A-Za-z]{24}$/.test(x.id), what + ': id is not btx_ + 24 characters', x.id);
  check(x.app === app && x.livemode === false && x.user === user, what + ': app, livemode or user', x);
  check(x.type === type && x.amount === amount && x.available_balance === after,
    what + ': not ' + type + ' ' + amount + ' → ' + after, x);
  check(typeof x.source === 'string' && x.source !== '' && isInt(x.created), what + ': source or created', x);
}

async function accountFlow(cfg, sdk, hooks, pubKey) {
  const app = cfg.app;
  const tag = randomAlnum(8);
  const alice = 'cmpA_' + tag;
  const bob = 'cmpB_' + tag;

  step = 'users.create';
  const a = await sdk.users.create(app, { id: alice, name: 'Alice', email: 'alice@example.com', metadata: { compat: 'node' } });
  checkUser(a, 'users.create', app, alice, 0);
  check(a.name === 'Alice' && a.email === 'alice@example.com' && a.metadata.compat === 'node',
    'users.create: name, email or metadata not as sent', a);
  const b = await sdk.users.create(app, { id: bob });
  checkUser(b, 'users.create', app, bob, 0);
  step = 'users.create: id taken';
  const dup = await expectReject(sdk.users.create(app, { id: alice }), 'users.create with a taken id');
  check(dup instanceof PingppErrors.PingppInvalidRequestError && dup.param === 'id',
    'users.create with a taken id: not an invalid_request_error naming id', { type: dup.type, param: dup.param, message: dup.message });

  step = 'users.retrieve';
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve', app, alice, 0);
  step = 'users.update';
  const renamed = await sdk.users.update(app, bob, { name: 'Bob' });
  checkUser(renamed, 'users.update', app, bob, 0);
  check(renamed.name === 'Bob', 'users.update: name not changed', renamed.name);
  check((await sdk.users.retrieve(app, bob)).name === 'Bob', 'users.retrieve after update: name not changed');

  step = 'users.list';
  const users = await sdk.users.list(app, { page: 1, per_page: 100 });
  checkList(users, '/v1/apps/' + app + '/users', 'users.list({page: 1, per_page: 100})');
  for (const id of [alice, bob]) {
    check(users.data.some((u) => u && u.id === id), 'users.list: ' + id + ' is not listed', users.data.map((u) => u && u.id));
  }
  const one = await sdk.users.list(app, { page: 1, per_page: 1 });
  checkList(one, '/v1/apps/' + app + '/users', 'users.list({page: 1, per_page: 1})');
  check(one.data.length === 1 && one.has_more === true, 'users.list with per_page 1: not one user and has_more', one);
  checkUser(one.data[0], 'users.list item', app, one.data[0] && one.data[0].id);

  // --- A bonus of BONUS_AMOUNT to alice, keyed by its order_no.
  step = 'balanceBonuses.create';
  const bonusNo = 'bb' + Date.now() + randomAlnum(6);
  const bonusParams = { user: alice, amount: BONUS_AMOUNT, order_no: bonusNo, description: 'compat bonus', metadata: { compat: 'node' } };
  const bonus = await sdk.balanceBonuses.create(app, JSON.parse(JSON.stringify(bonusParams)));
  checkBonus(bonus, 'balanceBonuses.create', app, alice, bonusNo);
  check(bonus.description === 'compat bonus' && bonus.metadata.compat === 'node', 'balanceBonuses.create: description or metadata', bonus);
  step = 'balanceBonuses.create: same order_no';
  const again = await sdk.balanceBonuses.create(app, JSON.parse(JSON.stringify(bonusParams)));
  check(again.id === bonus.id, 'balanceBonuses.create: the same order_no and parameters made another bonus', { first: bonus.id, again });
  const reused = await expectReject(sdk.balanceBonuses.create(app, Object.assign({}, bonusParams, { amount: BONUS_AMOUNT + 1 })),
    'balanceBonuses.create with a used order_no and another amount');
  check(reused instanceof PingppErrors.PingppInvalidRequestError && reused.param === 'order_no',
    'balanceBonuses.create with a used order_no: not an invalid_request_error naming order_no',
    { type: reused.type, param: reused.param, message: reused.message });
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after the bonus (credited once)', app, alice, BONUS_AMOUNT);

  step = 'balanceBonuses.retrieve';
  const gotBonus = await sdk.balanceBonuses.retrieve(app, bonus.id);
  checkBonus(gotBonus, 'balanceBonuses.retrieve', app, alice, bonusNo);
  check(jsonEqual(gotBonus, bonus), 'balanceBonuses.retrieve differs from create', { created: bonus, retrieved: gotBonus });
  step = 'balanceBonuses.list';
  const bonuses = await sdk.balanceBonuses.list(app, { limit: 10 });
  checkList(bonuses, '/v1/apps/' + app + '/balance_bonuses', 'balanceBonuses.list');
  check(bonuses.data.some((x) => x && x.id === bonus.id), 'balanceBonuses.list: the bonus is not listed', bonuses.data);
  step = 'balance.bonus.succeeded webhook';
  const bonusEv = checkWebhook(await hooks.waitFor('balance.bonus.succeeded', bonus.id, STEP_TIMEOUT_MS),
    'balance.bonus.succeeded', 'balance_bonus', bonus.id, pubKey);
  check(bonusEv.data.object.amount === BONUS_AMOUNT && bonusEv.data.object.user === alice,
    'balance.bonus.succeeded webhook: data.object amount or user', bonusEv.data.object);

  // --- alice sends bob BALANCE_TRANSFER_AMOUNT, the merchant keeps BALANCE_TRANSFER_FEE.
  step = 'balanceTransfers.create';
  const transferNo = 'bt' + Date.now() + randomAlnum(6);
  const tr = await sdk.balanceTransfers.create(app, { user: alice, recipient: bob, amount: BALANCE_TRANSFER_AMOUNT,
    user_fee: BALANCE_TRANSFER_FEE, order_no: transferNo, description: 'compat balance transfer', metadata: { compat: 'node' } });
  checkBalanceTransfer(tr, 'balanceTransfers.create', app, alice, bob, transferNo);
  let wantA = BONUS_AMOUNT - BALANCE_TRANSFER_AMOUNT; // 700, until the recharge
  const wantB = BALANCE_TRANSFER_AMOUNT - BALANCE_TRANSFER_FEE; // 290
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve (sender)', app, alice, wantA);
  checkUser(await sdk.users.retrieve(app, bob), 'users.retrieve (recipient)', app, bob, wantB);

  step = 'balanceTransfers.retrieve';
  const gotTr = await sdk.balanceTransfers.retrieve(app, tr.id);
  checkBalanceTransfer(gotTr, 'balanceTransfers.retrieve', app, alice, bob, transferNo);
  check(jsonEqual(gotTr, tr), 'balanceTransfers.retrieve differs from create', { created: tr, retrieved: gotTr });
  step = 'balanceTransfers.list';
  const transfers = await sdk.balanceTransfers.list(app, { user: bob, limit: 10 });
  checkList(transfers, '/v1/apps/' + app + '/balance_transfers', 'balanceTransfers.list({user})');
  check(transfers.data.some((x) => x && x.id === tr.id), 'balanceTransfers.list: the transfer is not listed for its recipient', transfers.data);
  step = 'balance.transfer.succeeded webhook';
  const trEv = checkWebhook(await hooks.waitFor('balance.transfer.succeeded', tr.id, STEP_TIMEOUT_MS),
    'balance.transfer.succeeded', 'balance_transfer', tr.id, pubKey);
  check(trEv.data.object.status === 'succeeded' && trEv.data.object.user_fee === BALANCE_TRANSFER_FEE,
    'balance.transfer.succeeded webhook: data.object status or user_fee', trEv.data.object);

  // --- An overdraft is refused and moves nothing.
  step = 'balanceTransfers.create: overdraft';
  const over = await expectReject(sdk.balanceTransfers.create(app, { user: alice, recipient: bob, amount: wantA + 1,
    order_no: 'bt' + Date.now() + randomAlnum(6), description: 'compat overdraft' }), 'balanceTransfers.create beyond the balance');
  check(over instanceof PingppErrors.PingppInvalidRequestError && over.rawType === 'invalid_request_error' && over.param === 'amount',
    'balanceTransfers.create beyond the balance: not an invalid_request_error naming amount',
    { type: over.type, rawType: over.rawType, param: over.param, message: over.message });
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after the overdraft (sender)', app, alice, wantA);
  checkUser(await sdk.users.retrieve(app, bob), 'users.retrieve after the overdraft (recipient)', app, bob, wantB);

  // --- Balance transactions: every movement, newest first.
  step = 'balanceTransactions.list';
  const txA = await sdk.balanceTransactions.list(app, { user: alice, limit: 10 });
  checkList(txA, '/v1/apps/' + app + '/balance_transactions', 'balanceTransactions.list({user: alice})');
  check(txA.data.length === 2, 'balanceTransactions.list: the sender has not exactly two movements', txA.data);
  checkBalanceTxn(txA.data[0], 'balanceTransactions.list (sender, newest)', app, alice, 'transfer', -BALANCE_TRANSFER_AMOUNT, wantA);
  checkBalanceTxn(txA.data[1], 'balanceTransactions.list (sender, oldest)', app, alice, 'balance_bonus', BONUS_AMOUNT, BONUS_AMOUNT);
  check(txA.data[0].id === tr.user_balance_transaction && txA.data[0].source === tr.id &&
    txA.data[1].id === bonus.balance_transaction && txA.data[1].source === bonus.id,
    'balanceTransactions.list: the sender\'s movements are not the bonus\'s and the transfer\'s', txA.data);
  const txB = await sdk.balanceTransactions.list(app, { user: bob, page: 1, per_page: 10 });
  checkList(txB, '/v1/apps/' + app + '/balance_transactions', 'balanceTransactions.list({user: bob, page: 1})');
  check(txB.data.length === 1, 'balanceTransactions.list: the recipient has not exactly one movement', txB.data);
  checkBalanceTxn(txB.data[0], 'balanceTransactions.list (recipient)', app, bob, 'receipts', wantB, wantB);
  step = 'balanceTransactions.retrieve';
  const gotTx = await sdk.balanceTransactions.retrieve(app, tr.recipient_balance_transaction);
  checkBalanceTxn(gotTx, 'balanceTransactions.retrieve', app, bob, 'receipts', wantB, wantB);
  check(jsonEqual(gotTx, txB.data[0]), 'balanceTransactions.retrieve differs from the list', { listed: txB.data[0], retrieved: gotTx });

  // --- alice recharges RECHARGE_AMOUNT on alipay_qr: the merchant keeps
  // RECHARGE_FEE, alice gets a RECHARGE_BONUS bonus with it; nothing moves
  // until the charge is paid.
  step = 'recharge.create';
  check(typeof sdk.recharge === 'object' && typeof sdk.recharge.create === 'function', 'pingpp 2.1.6 has no recharge resource');
  const rechargeNo = 'rc' + Date.now() + randomAlnum(6);
  const rechargeParams = { user: alice, user_fee: RECHARGE_FEE, balance_bonus: { amount: RECHARGE_BONUS },
    description: 'compat recharge', metadata: { compat: 'node' },
    charge: { order_no: rechargeNo, channel: 'alipay_qr', amount: RECHARGE_AMOUNT, client_ip: '127.0.0.1',
      subject: 'compat recharge', body: 'compat recharge: Ping++ Node SDK 2.1.6' } };
  const rch = await sdk.recharge.create(app, JSON.parse(JSON.stringify(rechargeParams)));
  checkRecharge(rch, 'recharge.create', app, alice, rechargeNo);
  check(rch.succeeded === false, 'recharge.create: succeeded before the payment', rch);
  check(rch.description === 'compat recharge' && rch.metadata.compat === 'node', 'recharge.create: description or metadata', rch);
  check(rch.charge.credential.object === 'credential' && typeof rch.charge.credential.alipay_qr === 'string',
    'recharge.create: the embedded charge has no alipay_qr credential', rch.charge.credential);
  CHANNELS.find((c) => c.channel === 'alipay_qr').credential(rch.charge.credential.alipay_qr);
  step = 'recharge.create: same order_no';
  const rchAgain = await sdk.recharge.create(app, JSON.parse(JSON.stringify(rechargeParams)));
  check(rchAgain.id === rch.id && rchAgain.charge.id === rch.charge.id,
    'recharge.create: the same order_no and parameters made another recharge', { first: rch.id, again: rchAgain.id });
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve before the recharge is paid', app, alice, wantA);

  step = 'recharge: test pay';
  const rchPay = await rawRequest(cfg, 'POST', '/v1/test/charges/' + rch.charge.id + '/pay', { result: 'success' }, cfg.key);
  checkRawReply(rchPay, 'recharge: POST /v1/test/charges/{id}/pay', pubKey);
  check(rchPay.status === 200 && isPlainObject(rchPay.json) && rchPay.json.id === rch.charge.id && rchPay.json.paid === true,
    'recharge: POST /v1/test/charges/{id}/pay: reply is not the paid charge', rchPay.raw.toString('utf8'));
  step = 'recharge.succeeded webhook';
  const rchEv = checkWebhook(await hooks.waitFor('recharge.succeeded', rch.id, STEP_TIMEOUT_MS),
    'recharge.succeeded', 'recharge', rch.id, pubKey);
  checkRecharge(rchEv.data.object, 'recharge.succeeded webhook: data.object', app, alice, rechargeNo);
  check(rchEv.data.object.succeeded === true, 'recharge.succeeded webhook: data.object.succeeded is not true', rchEv.data.object);
  const rchBonusId = rchEv.data.object.balance_bonus.id;
  const rchChargeEv = checkWebhook(await hooks.waitFor('charge.succeeded', rch.charge.id, STEP_TIMEOUT_MS),
    'charge.succeeded', 'charge', rch.charge.id, pubKey);
  const rchBonusEv = checkWebhook(await hooks.waitFor('balance.bonus.succeeded', rchBonusId, STEP_TIMEOUT_MS),
    'balance.bonus.succeeded', 'balance_bonus', rchBonusId, pubKey);

  step = 'recharge.retrieve';
  const gotRch = await sdk.recharge.retrieve(app, rch.id);
  checkRecharge(gotRch, 'recharge.retrieve', app, alice, rechargeNo);
  check(gotRch.succeeded === true && gotRch.balance_bonus.id === rchBonusId, 'recharge.retrieve: not succeeded with its bonus after the webhook', gotRch);
  wantA += RECHARGE_AMOUNT - RECHARGE_FEE + RECHARGE_BONUS; // 700 + 495 + 50 = 1245
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after the recharge', app, alice, wantA);
  step = 'recharge.list';
  const recharges = await sdk.recharge.list(app, { user: alice, limit: 10 });
  checkList(recharges, '/v1/apps/' + app + '/recharges', 'recharge.list({user: alice})');
  check(recharges.data.length === 1 && recharges.data[0].id === rch.id, 'recharge.list: not exactly alice\'s recharge', recharges.data);
  checkRecharge(recharges.data[0], 'recharge.list item', app, alice, rechargeNo);
  const rechargePage = await sdk.recharge.list(app, { page: 1, per_page: 10 });
  checkList(rechargePage, '/v1/apps/' + app + '/recharges', 'recharge.list({page: 1, per_page: 10})');
  check(rechargePage.data.some((x) => x && x.id === rch.id), 'recharge.list by page: the recharge is not listed', rechargePage.data);
  const bobRecharges = await sdk.recharge.list(app, { user: bob, limit: 10 });
  check(bobRecharges.data.length === 0, 'recharge.list({user: bob}): bob made no recharge', bobRecharges.data);

  step = 'balanceTransactions.list after the recharge';
  const txR = await sdk.balanceTransactions.list(app, { user: alice, limit: 2 });
  checkList(txR, '/v1/apps/' + app + '/balance_transactions', 'balanceTransactions.list({user: alice, limit: 2})');
  const rchTx = txR.data.find((x) => x && x.type === 'recharge');
  const rchBonusTx = txR.data.find((x) => x && x.type === 'balance_bonus');
  check(txR.data.length === 2 && rchTx && rchBonusTx, 'balanceTransactions.list: the newest two are not the recharge\'s and its bonus\'s', txR.data);
  check(rchTx.id === gotRch.balance_transaction && rchTx.source === rch.id && rchTx.amount === RECHARGE_AMOUNT - RECHARGE_FEE,
    'balanceTransactions.list: the recharge movement', rchTx);
  check(rchBonusTx.source === rchBonusId && rchBonusTx.amount === RECHARGE_BONUS, 'balanceTransactions.list: the recharge bonus movement', rchBonusTx);
  check(txR.data[0].available_balance === wantA, 'balanceTransactions.list: the newest movement does not leave ' + wantA, txR.data);

  // Recharge refunds are not built: a refund of its charge would pay the
  // money out while alice keeps the balance, so it is refused.
  step = 'charges.createRefund on a recharge\'s charge';
  const rchRefund = await expectReject(sdk.charges.createRefund(rch.charge.id, { amount: 1, description: 'compat' }),
    'charges.createRefund on a recharge\'s charge');
  check(rchRefund instanceof PingppErrors.PingppInvalidRequestError && rchRefund.param === 'charge',
    'charges.createRefund on a recharge\'s charge: not an invalid_request_error naming charge',
    { type: rchRefund.type, param: rchRefund.param, message: rchRefund.message });
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after the refused refund', app, alice, wantA);


  // --- Settle accounts: alice is paid on alipay at the sandbox payee.
  step = 'settleAccounts.create';
  check(typeof sdk.settleAccounts === 'object' && typeof sdk.settleAccounts.create === 'function' &&
    typeof sdk.withdrawals === 'object' && typeof sdk.withdrawals.confirm === 'function',
    'pingpp 2.1.6 has no settleAccounts or withdrawals resource');
  const payee = PAYEES[0];
  const sa = await sdk.settleAccounts.create(app, alice, { channel: 'alipay', recipient: { account: payee.account, name: payee.name, type: 'b2c' } });
  checkSettleAccount(sa, 'settleAccounts.create', app, alice, 'alipay', payee);
  step = 'settleAccounts.create: a second on the channel';
  const saDup = await expectReject(sdk.settleAccounts.create(app, alice, { channel: 'alipay', recipient: { account: PAYEES[1].account, name: PAYEES[1].name } }),
    'settleAccounts.create: a second alipay settle account');
  check(saDup instanceof PingppErrors.PingppInvalidRequestError && saDup.param === 'channel',
    'settleAccounts.create: a second alipay settle account: not an invalid_request_error naming channel',
    { type: saDup.type, param: saDup.param, message: saDup.message });
  step = 'settleAccounts.list';
  const sas = await sdk.settleAccounts.list(app, alice);
  checkList(sas, '/v1/apps/' + app + '/users/' + alice + '/settle_accounts', 'settleAccounts.list');
  check(sas.data.length === 1 && jsonEqual(sas.data[0], sa), 'settleAccounts.list: not exactly alice\'s settle account', sas.data);
  step = 'settleAccounts.retrieve';
  const gotSa = await sdk.settleAccounts.retrieve(app, alice, sa.id);
  check(jsonEqual(gotSa, sa), 'settleAccounts.retrieve differs from create', { created: sa, retrieved: gotSa });
  step = 'settleAccounts.delete';
  const bobSa = await sdk.settleAccounts.create(app, bob, { channel: 'alipay', recipient: { account: PAYEES[1].account, name: PAYEES[1].name } });
  checkSettleAccount(bobSa, 'settleAccounts.create (bob)', app, bob, 'alipay', PAYEES[1]);
  const del = await sdk.settleAccounts.delete(app, bob, bobSa.id);
  check(isPlainObject(del) && del.id === bobSa.id && del.object === 'settle_account' && del.deleted === true,
    'settleAccounts.delete: not {id, object: settle_account, deleted: true}', del);
  check((await sdk.settleAccounts.list(app, bob)).data.length === 0, 'settleAccounts.list after delete: bob still has one');
  step = 'withdrawals.create without a settle account';
  const noSa = await expectReject(sdk.withdrawals.create(app, { user: bob, amount: 100, channel: 'alipay',
    order_no: 'wd' + Date.now() + randomAlnum(6) }), 'withdrawals.create for a user without a settle account');
  check(noSa instanceof PingppErrors.PingppInvalidRequestError && noSa.param === 'settle_account',
    'withdrawals.create without a settle account: not an invalid_request_error naming settle_account',
    { type: noSa.type, param: noSa.param, message: noSa.message });

  // --- alice withdraws WITHDRAWAL_AMOUNT: held at once; confirmed, a
  // transfer of amount - user_fee pays the sandbox payee; the merchant
  // keeps WITHDRAWAL_FEE.
  step = 'withdrawals.create';
  const wdNo = 'wd' + Date.now() + randomAlnum(6);
  const wdParams = { user: alice, amount: WITHDRAWAL_AMOUNT, user_fee: WITHDRAWAL_FEE, channel: 'alipay', order_no: wdNo,
    description: 'compat withdrawal', metadata: { compat: 'node' }, extra: {} };
  const wd = await sdk.withdrawals.create(app, JSON.parse(JSON.stringify(wdParams)));
  checkWithdrawal(wd, 'withdrawals.create', app, alice, wdNo, WITHDRAWAL_AMOUNT, WITHDRAWAL_FEE, sa.id);
  check(wd.status === 'created' && wd.transfer === null && wd.description === 'compat withdrawal' && wd.metadata.compat === 'node',
    'withdrawals.create: not created without a transfer, or description or metadata not as sent', wd);
  wantA -= WITHDRAWAL_AMOUNT; // 1245 - 200 = 1045
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after withdrawals.create (held)', app, alice, wantA);
  const wdAgain = await sdk.withdrawals.create(app, JSON.parse(JSON.stringify(wdParams)));
  check(wdAgain.id === wd.id, 'withdrawals.create: the same order_no and parameters made another withdrawal', { first: wd.id, again: wdAgain.id });
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after a repeated withdrawals.create (held once)', app, alice, wantA);

  step = 'withdrawals.confirm';
  const conf = await sdk.withdrawals.confirm(app, wd.id);
  checkWithdrawal(conf, 'withdrawals.confirm', app, alice, wdNo, WITHDRAWAL_AMOUNT, WITHDRAWAL_FEE, sa.id);
  check(conf.status === 'pending' && typeof conf.transfer === 'string', 'withdrawals.confirm: not pending with its transfer', conf);
  step = 'withdrawals.retrieve';
  const wdDone = await until(() => sdk.withdrawals.retrieve(app, wd.id), (w) => w.status !== 'pending', 'withdrawals.retrieve');
  checkWithdrawal(wdDone, 'withdrawals.retrieve', app, alice, wdNo, WITHDRAWAL_AMOUNT, WITHDRAWAL_FEE, sa.id);
  check(wdDone.status === 'succeeded' && isInt(wdDone.time_succeeded) && wdDone.transfer === conf.transfer && wdDone.failure_msg === null,
    'withdrawals.retrieve: not succeeded through its transfer', wdDone);
  const wdTr = await sdk.transfers.retrieve(wdDone.transfer);
  checkTransfer(wdTr, 'transfers.retrieve (the withdrawal\'s)', app, undefined, WITHDRAWAL_AMOUNT - WITHDRAWAL_FEE);
  check(wdTr.status === 'paid' && wdTr.recipient === payee.account && wdTr.extra.recipient_name === payee.name,
    'transfers.retrieve (the withdrawal\'s): not paid to the settle account', wdTr);
  step = 'balance.withdrawal.succeeded webhook';
  const wdEv = checkWebhook(await hooks.waitFor('balance.withdrawal.succeeded', wd.id, STEP_TIMEOUT_MS),
    'balance.withdrawal.succeeded', 'withdrawal', wd.id, pubKey);
  check(wdEv.data.object.status === 'succeeded' && wdEv.data.object.transfer === wdDone.transfer,
    'balance.withdrawal.succeeded webhook: data.object status or transfer', wdEv.data.object);
  const wdTrEv = checkWebhook(await hooks.waitFor('transfer.succeeded', wdDone.transfer, STEP_TIMEOUT_MS),
    'transfer.succeeded', 'transfer', wdDone.transfer, pubKey);
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after the withdrawal succeeded', app, alice, wantA);
  step = 'withdrawals.cancel after success';
  const lateCancel = await expectReject(sdk.withdrawals.cancel(app, wd.id), 'withdrawals.cancel of a succeeded withdrawal');
  check(lateCancel instanceof PingppErrors.PingppInvalidRequestError && lateCancel.param === 'status',
    'withdrawals.cancel of a succeeded withdrawal: not an invalid_request_error naming status',
    { type: lateCancel.type, param: lateCancel.param, message: lateCancel.message });

  // --- A second withdrawal, canceled before confirmation: given back.
  step = 'withdrawals.cancel';
  const wd2No = 'wd' + Date.now() + randomAlnum(6);
  const wd2 = await sdk.withdrawals.create(app, { user: alice, amount: CANCELED_WITHDRAWAL, channel: 'alipay', order_no: wd2No,
    settle_account: sa.id, description: 'compat withdrawal, canceled' });
  checkWithdrawal(wd2, 'withdrawals.create (second)', app, alice, wd2No, CANCELED_WITHDRAWAL, 0, sa.id);
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after the second withdrawals.create', app, alice, wantA - CANCELED_WITHDRAWAL);
  const canceled = await sdk.withdrawals.cancel(app, wd2.id);
  checkWithdrawal(canceled, 'withdrawals.cancel', app, alice, wd2No, CANCELED_WITHDRAWAL, 0, sa.id);
  check(canceled.status === 'canceled' && isInt(canceled.time_canceled) && canceled.transfer === null,
    'withdrawals.cancel: not canceled without a transfer', canceled);
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after withdrawals.cancel (given back)', app, alice, wantA);
  const lateConfirm = await expectReject(sdk.withdrawals.confirm(app, wd2.id), 'withdrawals.confirm of a canceled withdrawal');
  check(lateConfirm instanceof PingppErrors.PingppInvalidRequestError && lateConfirm.param === 'status',
    'withdrawals.confirm of a canceled withdrawal: not an invalid_request_error naming status',
    { type: lateConfirm.type, param: lateConfirm.param, message: lateConfirm.message });

  step = 'withdrawals.list';
  const wds = await sdk.withdrawals.list(app, { user: alice, limit: 10 });
  checkList(wds, '/v1/apps/' + app + '/withdrawals', 'withdrawals.list({user: alice})');
  check(wds.data.length === 2 && wds.data[0].id === wd2.id && wds.data[1].id === wd.id,
    'withdrawals.list: not alice\'s two withdrawals, newest first', wds.data.map((w) => w && w.id));
  check(jsonEqual(wds.data[1], wdDone), 'withdrawals.list item differs from retrieve', { listed: wds.data[1], retrieved: wdDone });
  const wdsOk = await sdk.withdrawals.list(app, { user: alice, status: 'succeeded', page: 1, per_page: 10 });
  checkList(wdsOk, '/v1/apps/' + app + '/withdrawals', 'withdrawals.list({status: succeeded, page: 1})');
  check(wdsOk.data.length === 1 && wdsOk.data[0].id === wd.id, 'withdrawals.list({status: succeeded}): not the succeeded one', wdsOk.data);

  step = 'balanceTransactions.list after the withdrawals';
  const txW = await sdk.balanceTransactions.list(app, { user: alice, limit: 3 });
  checkList(txW, '/v1/apps/' + app + '/balance_transactions', 'balanceTransactions.list({user: alice, limit: 3})');
  check(txW.data.length === 3, 'balanceTransactions.list: not three movements', txW.data);
  checkBalanceTxn(txW.data[0], 'balanceTransactions.list (the cancel)', app, alice, 'withdrawal_revoke', CANCELED_WITHDRAWAL, wantA);
  checkBalanceTxn(txW.data[1], 'balanceTransactions.list (the canceled hold)', app, alice, 'withdrawal', -CANCELED_WITHDRAWAL, wantA - CANCELED_WITHDRAWAL);
  checkBalanceTxn(txW.data[2], 'balanceTransactions.list (the withdrawal)', app, alice, 'withdrawal', -WITHDRAWAL_AMOUNT, wantA);
  check(txW.data[0].source === wd2.id && txW.data[1].id === wd2.balance_transaction && txW.data[2].id === wd.balance_transaction &&
    txW.data[2].source === wd.id, 'balanceTransactions.list: the movements are not the withdrawals\'', txW.data);

  // --- Two more withdrawals, confirmed together by a batch withdrawal;
  // a batch with a withdrawal that is not created is refused whole.
  step = 'batchWithdrawals.create';
  check(typeof sdk.batchWithdrawals === 'object' && typeof sdk.batchWithdrawals.create === 'function',
    'pingpp 2.1.6 has no batchWithdrawals resource');
  const bws = [];
  for (const [i, amount] of BATCH_WITHDRAWALS.entries()) {
    const no = 'wd' + Date.now() + randomAlnum(6);
    const w = await sdk.withdrawals.create(app, { user: alice, amount, channel: 'alipay', order_no: no,
      description: 'compat batch withdrawal ' + (i + 1) });
    checkWithdrawal(w, 'withdrawals.create (batch member ' + (i + 1) + ')', app, alice, no, amount, 0, sa.id);
    check(w.status === 'created', 'withdrawals.create (batch member ' + (i + 1) + '): not created', w);
    bws.push(w);
  }
  const batchTotal = BATCH_WITHDRAWALS[0] + BATCH_WITHDRAWALS[1];
  wantA -= batchTotal; // 1045 - 200 = 845, held at create
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after the batch members were created (held)', app, alice, wantA);
  step = 'batchWithdrawals.create with a succeeded withdrawal';
  const badBatch = await expectReject(sdk.batchWithdrawals.create(app, { withdrawals: [bws[0].id, wd.id] }),
    'batchWithdrawals.create with a succeeded withdrawal');
  check(badBatch instanceof PingppErrors.PingppInvalidRequestError && badBatch.param === 'withdrawals[1]',
    'batchWithdrawals.create with a succeeded withdrawal: not an invalid_request_error naming withdrawals[1]',
    { type: badBatch.type, param: badBatch.param, message: badBatch.message });
  const stillCreated = await sdk.withdrawals.retrieve(app, bws[0].id);
  check(stillCreated.status === 'created' && stillCreated.transfer === null,
    'withdrawals.retrieve after a refused batch: the first member is no longer created', stillCreated);
  step = 'batchWithdrawals.create';
  const checkBatch = (b, what) => {
    check(isPlainObject(b), what + ': not an object', b);
    check(b.object === 'batch_withdrawal', what + ': object != "batch_withdrawal"', b.object);
    check(typeof b.id === 'string' && /^bwd_[0-9A-Za-z]{24}$/.test(b.id), what + ': id is not bwd_ + 24 characters', b.id);
    check(b.app === app && b.livemode === false && b.status === 'pending' && isInt(b.created), what + ': app, livemode, status or created', b);
    check(b.total_amount === batchTotal && b.total_count === 2, what + ': total_amount or total_count', b);
    check(b.succeeded_amount + b.pending_amount === batchTotal && b.succeeded_count + b.pending_count === 2 &&
      b.failed_amount === 0 && b.failed_count === 0 && b.canceled_amount === 0 && b.canceled_count === 0,
    what + ': amounts or counts per status do not add up to two confirmed withdrawals', b);
    checkList(b.withdrawals, '/v1/apps/' + app + '/batch_withdrawals/' + b.id, what + ': withdrawals');
    check(b.withdrawals.has_more === false && b.withdrawals.data.length === 2 &&
      b.withdrawals.data.every((w, i) => w.id === bws[i].id && ['pending', 'succeeded'].includes(w.status) && typeof w.transfer === 'string'),
    what + ': withdrawals are not the two members, in order, confirmed with their transfers', b.withdrawals);
    b.withdrawals.data.forEach((w, i) => checkWithdrawal(w, what + ': withdrawals.data[' + i + ']', app, alice, bws[i].order_no,
      BATCH_WITHDRAWALS[i], 0, sa.id));
  };
  const batch = await sdk.batchWithdrawals.create(app, { withdrawals: bws.map((w) => w.id) });
  checkBatch(batch, 'batchWithdrawals.create');
  step = 'batchWithdrawals.retrieve';
  // Test mode settles a pending withdrawal's transfer when the withdrawal
  // is retrieved; the batch shows its members as they are.
  const batchDone = await until(async () => {
    for (const w of bws) await sdk.withdrawals.retrieve(app, w.id);
    return sdk.batchWithdrawals.retrieve(app, batch.id);
  }, (b) => b.pending_count === 0, 'batchWithdrawals.retrieve');
  checkBatch(batchDone, 'batchWithdrawals.retrieve');
  check(batchDone.id === batch.id && batchDone.created === batch.created && batchDone.succeeded_count === 2 &&
    batchDone.succeeded_amount === batchTotal && batchDone.withdrawals.data.every((w) => w.status === 'succeeded' && isInt(w.time_succeeded)),
  'batchWithdrawals.retrieve: not both succeeded', batchDone);
  const batchEvents = [];
  for (const w of batchDone.withdrawals.data) {
    const tr = await sdk.transfers.retrieve(w.transfer);
    checkTransfer(tr, 'transfers.retrieve (a batch member\'s)', app, undefined, w.amount);
    check(tr.status === 'paid' && tr.recipient === payee.account, 'transfers.retrieve (a batch member\'s): not paid to the settle account', tr);
    step = 'balance.withdrawal.succeeded webhook (batch member)';
    const ev = checkWebhook(await hooks.waitFor('balance.withdrawal.succeeded', w.id, STEP_TIMEOUT_MS),
      'balance.withdrawal.succeeded', 'withdrawal', w.id, pubKey);
    const trEv = checkWebhook(await hooks.waitFor('transfer.succeeded', w.transfer, STEP_TIMEOUT_MS),
      'transfer.succeeded', 'transfer', w.transfer, pubKey);
    batchEvents.push(trEv.id, ev.id);
  }
  checkUser(await sdk.users.retrieve(app, alice), 'users.retrieve after the batch withdrawal succeeded', app, alice, wantA);
  step = 'batchWithdrawals.list';
  const bwl = await sdk.batchWithdrawals.list(app, { limit: 10 });
  checkList(bwl, '/v1/apps/' + app + '/batch_withdrawals', 'batchWithdrawals.list({limit: 10})');
  check(bwl.data.length >= 1 && jsonEqual(bwl.data[0], batchDone), 'batchWithdrawals.list: the newest is not the batch as retrieved',
    { listed: bwl.data[0], retrieved: batchDone });
  const bwlPage = await sdk.batchWithdrawals.list(app, { page: 1, per_page: 1 });
  checkList(bwlPage, '/v1/apps/' + app + '/batch_withdrawals', 'batchWithdrawals.list({page: 1, per_page: 1})');
  check(bwlPage.data.length === 1 && bwlPage.data[0].id === batch.id, 'batchWithdrawals.list({page: 1}): not the batch', bwlPage.data);

  // --- Another app's path is refused (the key's app only), with a signed reply.
  step = 'GET /v1/apps/{other}/users';
  const other = await rawRequest(cfg, 'GET', '/v1/apps/app_' + randomAlnum(16) + '/users/' + alice, undefined, cfg.key);
  checkRawReply(other, 'GET /v1/apps/{other app}/users/{user}', pubKey);
  check(other.status === 404 && other.json.error.type === 'invalid_request_error' && other.json.error.param === 'app',
    'GET /v1/apps/{other app}/users/{user}: not 404 naming app', other.json);

  return { users: [alice, bob], balance_bonus: bonus.id, balance_transfer: tr.id, recharge: rch.id,
    settle_account: sa.id, withdrawal: wd.id, canceled_withdrawal: wd2.id, batch_withdrawal: batch.id,
    balances: { [alice]: wantA, [bob]: wantB },
    events: [bonusEv.id, trEv.id, rchChargeEv.id, rchBonusEv.id, rchEv.id, wdTrEv.id, wdEv.id, ...batchEvents] };
}

// --- Coupons and Ping++'s order API (spec §2.11): a cash coupon template
// (amount_off 100 from 1000), coupons issued one by one and in a batch
// through the SDK's couponTemplates and coupons, an order that redeems a
// coupon paid part from the user's balance and part by alipay_qr, its
// charges, its full refund (both parts back, the refundable coupon
// released), a canceled order and an updated one, through the SDK's orders.
const COUPON_OFF = 100;
const COUPON_MIN = 1000; // amount_available: the order amount it needs
const COUPON_MAX = 10; // max_circulation
const ORDER_AMOUNT = 1000;
const ORDER_BONUS = 500; // the user's balance before the order
const ORDER_BALANCE_PART = 300;
const ORDER_CHARGE_PART = ORDER_AMOUNT - COUPON_OFF - ORDER_BALANCE_PART; // 600, on alipay_qr

function checkCouponTemplate(t, what, app, id) {
  check(isPlainObject(t), what + ': not an object', t);
  check(t.object === 'coupon_template', what + ': object != "coupon_template"', t.object);
  check(typeof t.id === 'string' && /^ctpl_[0-9A-Za-z]{24}$/.test(t.id), what + ': id is not ctpl_ + 24 characters', t.id);
  if (id !== undefined) check(t.id === id, what + ': id is not the template\'s', t.id);
  check(t.app === app && t.livemode === false, what + ': app or livemode', t);
  check(t.type === 1 && t.amount_off === COUPON_OFF && t.percent_off === null, what + ': type, amount_off or percent_off', t);
  check(t.amount_available === COUPON_MIN && t.max_circulation === COUPON_MAX, what + ': amount_available or max_circulation', t);
  check(t.refundable === true, what + ': refundable is not true by default', t.refundable);
  check(isInt(t.times_circulated) && isInt(t.times_redeemed), what + ': times_circulated or times_redeemed', t);
  check(isInt(t.created) && isPlainObject(t.metadata), what + ': created or metadata', t);
}

function checkCoupon(c, what, app, user, tmplId, id) {
  check(isPlainObject(c), what + ': not an object', c);
  check(c.object === 'coupon', what + ': object != "coupon"', c.object);
  check(typeof c.id === 'string' && /^cpn_[0-9A-Za-z]{24}$/.test(c.id), what + ': id is not cpn_ + 24 characters', c.id);
  if (id !== undefined) check(c.id === id, what + ': id is not the coupon\'s', c.id);
  check(c.app === app && c.livemode === false && c.user === user, what + ': app, livemode or user', c);
  checkCouponTemplate(c.coupon_template, what + ': coupon_template', app, tmplId);
  check(typeof c.redeemed === 'boolean' && typeof c.valid === 'boolean', what + ': redeemed or valid is not a boolean', c);
  check(c.order === null || typeof c.order === 'string', what + ': order is neither null nor a string', c.order);
  check(c.actual_amount === null || isInt(c.actual_amount), what + ': actual_amount', c.actual_amount);
  check(isInt(c.user_times_circulated) && isInt(c.created) && isPlainObject(c.metadata),
    what + ': user_times_circulated, created or metadata', c);
}

function checkOrder(o, what, app, uid, merchantOrderNo, amount) {
  check(isPlainObject(o), what + ': not an object', o);
  check(o.object === 'order', what + ': object != "order"', o.object);
  check(typeof o.id === 'string' && o.id !== '', what + ': no id', o.id);
  check(o.app === app && o.livemode === false, what + ': app or livemode', o);
  check(o.uid === uid && o.merchant_order_no === merchantOrderNo, what + ': uid or merchant_order_no', o);
  check(o.amount === amount && o.currency === 'cny', what + ': amount or currency', o);
  check(['created', 'paid', 'canceled'].includes(o.status), what + ': status', o.status);
  for (const f of ['paid', 'refunded']) {
    check(typeof o[f] === 'boolean', what + ': ' + f + ' is not a boolean', o[f]);
  }
  for (const f of ['coupon_amount', 'actual_amount', 'amount_paid', 'amount_refunded', 'available_balance', 'created']) {
    check(isInt(o[f]), what + ': ' + f + ' is not an integer', o[f]);
  }
  check(o.actual_amount === o.amount - o.coupon_amount, what + ': actual_amount is not amount - coupon_amount', o);
  check(o.charge === null || typeof o.charge === 'string', what + ': charge is neither null nor a string', o.charge);
  check(o.coupon === null || typeof o.coupon === 'string', what + ': coupon is neither null nor a string', o.coupon);
  check(isPlainObject(o.metadata), what + ': metadata is not an object', o.metadata);
  checkList(o.charges, '/v1/orders/' + o.id + '/charges', what + ': charges');
}

function checkOrderRefund(r, what, app, orderId, id) {
  check(isPlainObject(r), what + ': not an object', r);
  check(r.object === 'order_refund', what + ': object != "order_refund"', r.object);
  check(typeof r.id === 'string' && /^or_[0-9A-Za-z]{24}$/.test(r.id), what + ': id is not or_ + 24 characters', r.id);
  if (id !== undefined) check(r.id === id, what + ': id is not the order refund\'s', r.id);
  check(r.app === app && r.livemode === false && r.order === orderId, what + ': app, livemode or order', r);
  check(r.balance_amount === ORDER_BALANCE_PART && r.charge_amount === ORDER_CHARGE_PART,
    what + ': balance_amount or charge_amount is not the paid parts', r);
  check(['pending', 'succeeded', 'failed'].includes(r.status), what + ': status', r.status);
  check(isInt(r.created) && isPlainObject(r.metadata), what + ': created or metadata', r);
}

async function couponOrderFlow(cfg, sdk, hooks, pubKey) {
  const app = cfg.app;
  const tag = randomAlnum(8);
  const carol = 'cmpC_' + tag;
  const dave = 'cmpD_' + tag;
  const events = [];

  // --- A cash coupon template: 100 off an order of at least 1000.
  step = 'couponTemplates.create';
  check(typeof sdk.couponTemplates === 'object' && typeof sdk.coupons === 'object' && typeof sdk.orders === 'object',
    'pingpp 2.1.6 has no couponTemplates, coupons or orders resource');
  const tmpl = await sdk.couponTemplates.create(app, { name: 'compat ' + tag, type: 1, amount_off: COUPON_OFF,
    amount_available: COUPON_MIN, max_circulation: COUPON_MAX });
  checkCouponTemplate(tmpl, 'couponTemplates.create', app);
  check(tmpl.name === 'compat ' + tag && tmpl.times_circulated === 0 && tmpl.times_redeemed === 0 && tmpl.expiration === null,
    'couponTemplates.create: name, counts or expiration', tmpl);
  const tmplId = tmpl.id;
  step = 'couponTemplates.retrieve';
  const gotTmpl = await sdk.couponTemplates.retrieve(app, tmplId);
  checkCouponTemplate(gotTmpl, 'couponTemplates.retrieve', app, tmplId);
  check(jsonEqual(gotTmpl, tmpl), 'couponTemplates.retrieve differs from create', { created: tmpl, retrieved: gotTmpl });
  step = 'couponTemplates.list';
  const tmpls = await sdk.couponTemplates.list(app, { page: 1 });
  checkList(tmpls, '/v1/apps/' + app + '/coupon_templates', 'couponTemplates.list({page: 1})');
  check(tmpls.data.some((x) => x && x.id === tmplId), 'couponTemplates.list: the template is not listed', tmpls.data);
  step = 'couponTemplates.update';
  const updTmpl = await sdk.couponTemplates.update(app, tmplId, { metadata: { compat: 'node' } });
  checkCouponTemplate(updTmpl, 'couponTemplates.update', app, tmplId);
  check(updTmpl.metadata.compat === 'node', 'couponTemplates.update: metadata not changed', updTmpl.metadata);
  check((await sdk.couponTemplates.retrieve(app, tmplId)).metadata.compat === 'node',
    'couponTemplates.retrieve after update: metadata not changed');

  // --- carol, with a balance of ORDER_BONUS, and a coupon.
  step = 'users.create (coupons)';
  checkUser(await sdk.users.create(app, { id: carol, name: 'Carol' }), 'users.create', app, carol, 0);
  checkUser(await sdk.users.create(app, { id: dave }), 'users.create', app, dave, 0);
  step = 'balanceBonuses.create (coupons)';
  const bonus = await sdk.balanceBonuses.create(app, { user: carol, amount: ORDER_BONUS, order_no: 'bb' + Date.now() + randomAlnum(6),
    description: 'compat order bonus' });
  check(isPlainObject(bonus) && bonus.object === 'balance_bonus' && bonus.paid === true && bonus.amount === ORDER_BONUS && bonus.user === carol,
    'balanceBonuses.create: not a paid bonus of ' + ORDER_BONUS + ' to carol', bonus);
  events.push(checkWebhook(await hooks.waitFor('balance.bonus.succeeded', bonus.id, STEP_TIMEOUT_MS),
    'balance.bonus.succeeded', 'balance_bonus', bonus.id, pubKey).id);

  step = 'coupons.create';
  const cpn = await sdk.coupons.create(app, carol, { coupon_template: tmplId });
  checkCoupon(cpn, 'coupons.create', app, carol, tmplId);
  check(cpn.redeemed === false && cpn.valid === true && cpn.order === null && cpn.user_times_circulated === 1,
    'coupons.create: not a valid unredeemed coupon, first of carol\'s', cpn);
  const couponId = cpn.id;
  const carolNow = await sdk.users.retrieve(app, carol);
  checkUser(carolNow, 'users.retrieve after coupons.create', app, carol, ORDER_BONUS);
  check(carolNow.available_coupons === 1, 'users.retrieve after coupons.create: available_coupons is not 1', carolNow.available_coupons);
  step = 'coupons.retrieve';
  const gotCpn = await sdk.coupons.retrieve(app, carol, couponId);
  checkCoupon(gotCpn, 'coupons.retrieve', app, carol, tmplId, couponId);
  step = 'coupons.list';
  const cpns = await sdk.coupons.list(app, carol, { page: 1 });
  checkList(cpns, '/v1/apps/' + app + '/users/' + carol + '/coupons', 'coupons.list({page: 1})');
  check(cpns.data.length === 1 && cpns.data[0].id === couponId, 'coupons.list: not exactly carol\'s coupon', cpns.data);
  step = 'coupons.update';
  const updCpn = await sdk.coupons.update(app, carol, couponId, { metadata: { compat: 'node' } });
  checkCoupon(updCpn, 'coupons.update', app, carol, tmplId, couponId);
  check(updCpn.metadata.compat === 'node', 'coupons.update: metadata not changed', updCpn.metadata);

  step = 'couponTemplates.createCoupon';
  const batch = await sdk.couponTemplates.createCoupon(app, tmplId, { users: [dave] });
  checkList(batch, '/v1/apps/' + app + '/coupon_templates/' + tmplId + '/coupons', 'couponTemplates.createCoupon');
  check(batch.data.length === 1, 'couponTemplates.createCoupon: not one coupon for one user', batch.data);
  checkCoupon(batch.data[0], 'couponTemplates.createCoupon item', app, dave, tmplId);
  const daveCoupon = batch.data[0].id;
  step = 'couponTemplates.listCoupons';
  const tcpns = await sdk.couponTemplates.listCoupons(app, tmplId, { page: 1 });
  checkList(tcpns, '/v1/apps/' + app + '/coupon_templates/' + tmplId + '/coupons', 'couponTemplates.listCoupons({page: 1})');
  check(tcpns.data.length === 2 && [couponId, daveCoupon].every((id) => tcpns.data.some((x) => x && x.id === id)),
    'couponTemplates.listCoupons: not carol\'s and dave\'s coupons', tcpns.data);
  check((await sdk.couponTemplates.retrieve(app, tmplId)).times_circulated === 2,
    'couponTemplates.retrieve: times_circulated is not 2 after two coupons');
  step = 'coupons.delete';
  const delCpn = await sdk.coupons.delete(app, dave, daveCoupon);
  check(isPlainObject(delCpn) && delCpn.deleted === true && delCpn.id === daveCoupon, 'coupons.delete: not {deleted: true, id}', delCpn);
  const daveCpns = await sdk.coupons.list(app, dave, { page: 1 });
  check(daveCpns.data.length === 0, 'coupons.list after coupons.delete: dave still has a coupon', daveCpns.data);

  // --- An order of ORDER_AMOUNT redeeming the coupon, paid 300 from
  // carol's balance and 600 by alipay_qr.
  step = 'orders.create';
  const orderNo = 'od' + Date.now() + randomAlnum(6);
  const order = await sdk.orders.create({ app, uid: carol, merchant_order_no: orderNo, amount: ORDER_AMOUNT, currency: 'cny',
    client_ip: '127.0.0.1', subject: 'compat order', body: 'compat order: Ping++ Node SDK 2.1.6', coupon: couponId });
  checkOrder(order, 'orders.create', app, carol, orderNo, ORDER_AMOUNT);
  check(order.status === 'created' && order.paid === false && order.coupon === couponId,
    'orders.create: not an unpaid order holding the coupon', order);
  check(order.coupon_amount === COUPON_OFF && order.actual_amount === ORDER_AMOUNT - COUPON_OFF && order.available_balance === ORDER_BONUS,
    'orders.create: coupon_amount, actual_amount or available_balance', order);
  const orderId = order.id;
  step = 'orders.create with a held coupon';
  const held = await expectReject(sdk.orders.create({ app, uid: carol, merchant_order_no: orderNo + 'b', amount: ORDER_AMOUNT,
    currency: 'cny', client_ip: '127.0.0.1', subject: 'compat order', body: 'compat order', coupon: couponId }),
  'orders.create with a coupon another order holds');
  check(held instanceof PingppErrors.PingppInvalidRequestError && held.param === 'coupon',
    'orders.create with a held coupon: not an invalid_request_error naming coupon', { type: held.type, param: held.param, message: held.message });

  step = 'orders.pay';
  const paying = await sdk.orders.pay(orderId, { channel: 'alipay_qr', charge_amount: ORDER_CHARGE_PART, balance_amount: ORDER_BALANCE_PART });
  checkOrder(paying, 'orders.pay', app, carol, orderNo, ORDER_AMOUNT);
  check(paying.status === 'created' && paying.paid === false && paying.amount_paid === ORDER_BALANCE_PART,
    'orders.pay: not created with the balance part paid', paying);
  check(typeof paying.charge === 'string' && /^ch_[0-9A-Za-z]{24}$/.test(paying.charge), 'orders.pay: charge is not a ch_ id', paying.charge);
  const chargeId = paying.charge;
  checkUser(await sdk.users.retrieve(app, carol), 'users.retrieve after orders.pay (balance part)', app, carol, ORDER_BONUS - ORDER_BALANCE_PART);

  step = 'orders: test pay';
  const opay = await rawRequest(cfg, 'POST', '/v1/test/charges/' + chargeId + '/pay', { result: 'success' }, cfg.key);
  checkRawReply(opay, 'orders: POST /v1/test/charges/{id}/pay', pubKey);
  check(opay.status === 200 && isPlainObject(opay.json) && opay.json.id === chargeId && opay.json.paid === true,
    'orders: POST /v1/test/charges/{id}/pay: reply is not the paid charge', opay.raw.toString('utf8'));
  step = 'orders: webhooks';
  events.push(checkWebhook(await hooks.waitFor('charge.succeeded', chargeId, STEP_TIMEOUT_MS),
    'charge.succeeded', 'charge', chargeId, pubKey).id);
  const oEv = checkWebhook(await hooks.waitFor('order.succeeded', orderId, STEP_TIMEOUT_MS), 'order.succeeded', 'order', orderId, pubKey);
  check(oEv.data.object.status === 'paid' && oEv.data.object.paid === true, 'order.succeeded webhook: data.object not paid', oEv.data.object);
  events.push(oEv.id);
  const cEv = checkWebhook(await hooks.waitFor('coupon.redeemed', couponId, STEP_TIMEOUT_MS), 'coupon.redeemed', 'coupon', couponId, pubKey);
  check(cEv.data.object.redeemed === true && cEv.data.object.order === orderId, 'coupon.redeemed webhook: data.object not redeemed by the order', cEv.data.object);
  events.push(cEv.id);

  step = 'orders.retrieve';
  const paid = await until(() => sdk.orders.retrieve(orderId), (o) => o && o.status === 'paid', 'orders.retrieve after the payment');
  checkOrder(paid, 'orders.retrieve (paid)', app, carol, orderNo, ORDER_AMOUNT);
  check(paid.paid === true && paid.amount_paid === ORDER_AMOUNT - COUPON_OFF && isInt(paid.time_paid),
    'orders.retrieve: not paid 900 with time_paid', paid);
  const redeemed = await sdk.coupons.retrieve(app, carol, couponId);
  checkCoupon(redeemed, 'coupons.retrieve after the payment', app, carol, tmplId, couponId);
  check(redeemed.redeemed === true && redeemed.order === orderId && redeemed.actual_amount === COUPON_OFF,
    'coupons.retrieve after the payment: not redeemed by the order', redeemed);

  step = 'orders.listCharges';
  const ocs = await sdk.orders.listCharges(orderId, { page: 1 });
  checkList(ocs, '/v1/orders/' + orderId + '/charges', 'orders.listCharges({page: 1})');
  check(ocs.data.length === 2 && ocs.data.some((c) => c && c.id === chargeId) &&
    ocs.data.some((c) => c && c.channel === 'balance' && c.amount === ORDER_BALANCE_PART && c.paid === true),
  'orders.listCharges: not the alipay_qr and balance parts', ocs.data);
  const balanceChargeId = ocs.data.find((c) => c.channel === 'balance').id;
  step = 'orders.retrieveCharge';
  const och = await sdk.orders.retrieveCharge(orderId, chargeId);
  checkCharge(och, 'orders.retrieveCharge', app, och.order_no, 'alipay_qr', 'cny', ORDER_CHARGE_PART);
  check(och.id === chargeId && och.paid === true, 'orders.retrieveCharge: not the paid alipay_qr part', och);
  // The balance part is an ordinary charge, paid at orders.pay.
  const balEv = checkWebhook(await hooks.waitFor('charge.succeeded', balanceChargeId, STEP_TIMEOUT_MS),
    'charge.succeeded', 'charge', balanceChargeId, pubKey);
  check(balEv.data.object.channel === 'balance' && balEv.data.object.amount === ORDER_BALANCE_PART,
    'charge.succeeded webhook of the balance part: channel or amount', balEv.data.object);
  events.push(balEv.id);

  // --- A full refund: both parts back, the refundable coupon released.
  step = 'orders.createRefund';
  const ore = await sdk.orders.createRefund(orderId, { description: 'refund' });
  checkOrderRefund(ore, 'orders.createRefund', app, orderId);
  check(ore.description === 'refund', 'orders.createRefund: description', ore.description);
  const oreId = ore.id;
  step = 'orders.listRefunds';
  const ores = await sdk.orders.listRefunds(orderId);
  checkList(ores, '/v1/orders/' + orderId + '/order_refunds', 'orders.listRefunds');
  check(ores.data.length === 1 && ores.data[0].id === oreId, 'orders.listRefunds: not exactly the order refund', ores.data);
  step = 'orders.retrieveRefund';
  const gotOre = await until(() => sdk.orders.retrieveRefund(orderId, oreId), (r) => r && r.status === 'succeeded',
    'orders.retrieveRefund');
  checkOrderRefund(gotOre, 'orders.retrieveRefund', app, orderId, oreId);
  check(isInt(gotOre.time_succeed), 'orders.retrieveRefund: time_succeed is not an integer once succeeded', gotOre.time_succeed);
  step = 'orders: refund webhooks';
  const rEv = checkWebhook(await hooks.waitFor('order.refunded', orderId, STEP_TIMEOUT_MS), 'order.refunded', 'order', orderId, pubKey);
  check(rEv.data.object.refunded === true, 'order.refunded webhook: data.object.refunded is not true', rEv.data.object);
  events.push(rEv.id);
  for (const id of [gotOre.charge_refund, gotOre.balance_refund]) {
    check(typeof id === 'string' && /^re_/.test(id), 'orders.retrieveRefund: charge_refund or balance_refund is not a re_ id', gotOre);
    events.push(checkWebhook(await hooks.waitFor('refund.succeeded', id, STEP_TIMEOUT_MS), 'refund.succeeded', 'refund', id, pubKey).id);
  }
  const refunded = await sdk.orders.retrieve(orderId);
  checkOrder(refunded, 'orders.retrieve after the refund', app, carol, orderNo, ORDER_AMOUNT);
  check(refunded.refunded === true && refunded.amount_refunded === ORDER_AMOUNT - COUPON_OFF,
    'orders.retrieve after the refund: not refunded 900', refunded);
  checkUser(await sdk.users.retrieve(app, carol), 'users.retrieve after the order refund', app, carol, ORDER_BONUS);
  const released = await sdk.coupons.retrieve(app, carol, couponId);
  checkCoupon(released, 'coupons.retrieve after the order refund', app, carol, tmplId, couponId);
  check(released.redeemed === false && released.valid === true && released.order === null,
    'coupons.retrieve after the order refund: the refundable coupon is not given back', released);

  // --- An order without a coupon, canceled; a third, updated.
  step = 'orders.cancel';
  const order2No = 'od' + Date.now() + randomAlnum(6);
  const order2 = await sdk.orders.create({ app, uid: carol, merchant_order_no: order2No, amount: 200, currency: 'cny',
    client_ip: '127.0.0.1', subject: 'compat order 2', body: 'compat order to cancel' });
  checkOrder(order2, 'orders.create (no coupon)', app, carol, order2No, 200);
  check(order2.coupon === null && order2.coupon_amount === 0 && order2.actual_amount === 200, 'orders.create (no coupon): coupon fields', order2);
  const canceled = await sdk.orders.cancel(order2.id);
  checkOrder(canceled, 'orders.cancel', app, carol, order2No, 200);
  check(canceled.status === 'canceled' && canceled.paid === false, 'orders.cancel: status is not canceled', canceled);
  step = 'orders.list';
  const ol = await sdk.orders.list({ app, page: 1, per_page: 10 });
  checkList(ol, '/v1/orders', 'orders.list({app, page: 1, per_page: 10})');
  for (const id of [orderId, order2.id]) {
    check(ol.data.some((o) => o && o.id === id), 'orders.list: order ' + id + ' is not listed', ol.data.map((o) => o && o.id));
  }
  step = 'orders.update';
  const order3No = 'od' + Date.now() + randomAlnum(6);
  const order3 = await sdk.orders.create({ app, uid: carol, merchant_order_no: order3No, amount: 300, currency: 'cny',
    client_ip: '127.0.0.1', subject: 'compat order 3', body: 'compat order to update' });
  checkOrder(order3, 'orders.create (third)', app, carol, order3No, 300);
  const upd3 = await sdk.orders.update(order3.id, { subject: 'new' });
  checkOrder(upd3, 'orders.update', app, carol, order3No, 300);
  check(upd3.subject === 'new' && upd3.status === 'created', 'orders.update: subject not changed', upd3);
  check((await sdk.orders.retrieve(order3.id)).subject === 'new', 'orders.retrieve after update: subject not changed');

  // --- The template deleted: no more coupons from it.
  step = 'couponTemplates.delete';
  const delTmpl = await sdk.couponTemplates.delete(app, tmplId);
  check(isPlainObject(delTmpl) && delTmpl.deleted === true && delTmpl.id === tmplId, 'couponTemplates.delete: not {deleted: true, id}', delTmpl);
  const gone = await expectReject(sdk.coupons.create(app, dave, { coupon_template: tmplId }), 'coupons.create from a deleted template');
  check(gone instanceof PingppErrors.PingppInvalidRequestError && gone.param === 'coupon_template',
    'coupons.create from a deleted template: not an invalid_request_error naming coupon_template', { type: gone.type, param: gone.param, message: gone.message });

  // --- Balance settlements: carol's balance part of the order settled.
  step = 'balanceSettlements.list';
  check(typeof sdk.balanceSettlements === 'object', 'pingpp 2.1.6 has no balanceSettlements resource');
  const bsl = await sdk.balanceSettlements.list(app, { page: 1, per_page: 3 });
  checkList(bsl, '/v1/apps/' + app + '/balance_settlements', 'balanceSettlements.list({page: 1, per_page: 3})');
  const bs = bsl.data.find((x) => x && x.user === carol);
  check(bs && bs.object === 'balance_settlement' && bs.amount === 300 && bs.amount_refunded === 300 && bs.order === orderId,
    'balanceSettlements.list: carol\'s balance part of the order is not listed, refunded', bsl.data);
  step = 'balanceSettlements.retrieve';
  const bsg = await sdk.balanceSettlements.retrieve(app, bs.id);
  check(jsonEqual(bsg, bs), 'balanceSettlements.retrieve differs from the list', { listed: bs, retrieved: bsg });

  // --- A recharge refunded (充值退款): dave recharges 1000 (fee 10) on
  // alipay_qr and refunds it; the refund is of 990 and dave's balance is 0.
  step = 'recharge.create (refund)';
  const rr = await sdk.recharge.create(app, { user: dave, user_fee: 10, description: 'compat refund',
    charge: { order_no: 'rr' + Date.now() + randomAlnum(6), channel: 'alipay_qr', amount: 1000, client_ip: '127.0.0.1',
      subject: 'compat', body: 'compat recharge refund' } });
  check(isPlainObject(rr) && rr.object === 'recharge' && rr.succeeded === false, 'recharge.create (refund): not an unpaid recharge', rr);
  const rrPay = await rawRequest(cfg, 'POST', '/v1/test/charges/' + rr.charge.id + '/pay', { result: 'success' }, cfg.key);
  check(rrPay.status === 200, 'recharge (refund): test pay failed', rrPay.raw.toString('utf8'));
  events.push(checkWebhook(await hooks.waitFor('charge.succeeded', rr.charge.id, STEP_TIMEOUT_MS), 'charge.succeeded', 'charge', rr.charge.id, pubKey).id);
  events.push(checkWebhook(await hooks.waitFor('recharge.succeeded', rr.id, STEP_TIMEOUT_MS), 'recharge.succeeded', 'recharge', rr.id, pubKey).id);
  step = 'recharge.createRefund';
  const rre = await sdk.recharge.createRefund(app, rr.id, { description: 'compat' });
  check(isPlainObject(rre) && rre.object === 'refund' && rre.amount === 990 && rre.charge === rr.charge.id,
    'recharge.createRefund: not a refund of 990 of the recharge\'s charge', rre);
  checkUser(await sdk.users.retrieve(app, dave), 'users.retrieve after the recharge refund', app, dave, 0);
  events.push(checkWebhook(await hooks.waitFor('refund.succeeded', rre.id, STEP_TIMEOUT_MS), 'refund.succeeded', 'refund', rre.id, pubKey).id);
  step = 'recharge.listRefunds';
  const rrl = await sdk.recharge.listRefunds(app, rr.id);
  check(isPlainObject(rrl) && rrl.object === 'list' && rrl.data.length === 1 && rrl.data[0].id === rre.id, 'recharge.listRefunds', rrl);
  step = 'recharge.retrieveRefund';
  const rrg = await sdk.recharge.retrieveRefund(app, rr.id, rre.id);
  check(isPlainObject(rrg) && rrg.id === rre.id && rrg.status === 'succeeded', 'recharge.retrieveRefund: not the succeeded refund', rrg);
  check((await sdk.recharge.retrieve(app, rr.id)).refunded === true, 'recharge.retrieve after its refund: not refunded');
  const again = await expectReject(sdk.recharge.createRefund(app, rr.id, {}), 'recharge.createRefund twice');
  check(again instanceof PingppErrors.PingppInvalidRequestError && again.param === 'id',
    'recharge.createRefund twice: not an invalid_request_error naming id', { type: again.type, param: again.param });

  return { coupon_template: tmplId, coupon: couponId, order: orderId, charge: chargeId, order_refund: oreId,
    canceled_order: order2.id, updated_order: order3.id, recharge_refund: rre.id, events };
}

function checkAgreement(a, what, app, id, status) {
  check(isPlainObject(a) && a.object === 'agreement' && /^agr_[0-9A-Za-z]+$/.test(a.id || ''), what + ': not an agreement', a);
  check(a.app === app && a.livemode === false && a.channel === 'alipay' && isInt(a.created), what + ': app, livemode, channel or created', a);
  check(id === undefined || a.id === id, what + ': another agreement', { want: id, got: a.id });
  check(a.status === status, what + ': status is ' + a.status + ', expected ' + status, a);
  check(isPlainObject(a.credential) && isPlainObject(a.extra) && isPlainObject(a.metadata), what + ': credential, extra or metadata is not an object', a);
  for (const k of ['contract_id', 'time_succeeded', 'time_canceled', 'failure_code', 'failure_msg', 'source']) {
    check(k in a, what + ': no ' + k, a);
  }
}

// agreementFlow: an Alipay debit agreement through Ping++'s agreements
// resource (create, retrieve, list, cancel), signed by the sandbox's
// customer, then debited by a charge with extra.agreement.
async function agreementFlow(cfg, sdk, hooks, pubKey) {
  const app = cfg.app;
  const events = [];
  const contractNo = 'cmp' + randomAlnum(12);
  step = 'agreements.create';
  check(typeof sdk.agreements === 'object', 'pingpp 2.1.6 has no agreements resource');
  const a = await sdk.agreements.create({ app, channel: 'alipay', contract_no: contractNo, metadata: { compat: 'node' } });
  checkAgreement(a, 'agreements.create', app, undefined, 'created');
  check(a.contract_no === contractNo && a.contract_id === null, 'agreements.create: contract_no or contract_id', a);
  check(isPlainObject(a.credential.alipay) && /alipay\.user\.agreement\.page\.sign/.test(a.credential.alipay.credential || ''),
    'agreements.create: credential.alipay.credential is not the page-sign URL', a.credential);
  step = 'agreements.retrieve';
  const got = await sdk.agreements.retrieve(a.id);
  checkAgreement(got, 'agreements.retrieve', app, a.id, 'created');
  check(jsonEqual(got, a), 'agreements.retrieve differs from create', { created: a, retrieved: got });
  step = 'agreements.list';
  const l = await sdk.agreements.list({ app, contract_no: contractNo });
  checkList(l, '/v1/agreements', 'agreements.list');
  check(l.data.length === 1 && l.data[0].id === a.id, 'agreements.list({contract_no}): not exactly the agreement', l.data);

  step = 'test sign';
  const signed = await rawRequest(cfg, 'POST', '/v1/test/agreements/' + a.id + '/sign', {}, cfg.key);
  check(signed.status === 200 && signed.json && signed.json.status === 'succeeded', 'test sign failed', signed.raw.toString('utf8'));
  events.push(checkWebhook(await hooks.waitFor('agreement.succeeded', a.id, STEP_TIMEOUT_MS), 'agreement.succeeded', 'agreement', a.id, pubKey).id);
  const after = await sdk.agreements.retrieve(a.id);
  checkAgreement(after, 'agreements.retrieve (signed)', app, a.id, 'succeeded');
  check(typeof after.contract_id === 'string' && after.contract_id.length > 0 && isInt(after.time_succeeded),
    'agreements.retrieve (signed): no contract_id or time_succeeded', after);

  step = 'charges.create (debit)';
  const ch = await sdk.charges.create({ order_no: 'agr' + randomAlnum(12), app: { id: app }, channel: 'alipay', amount: CHARGE_AMOUNT,
    client_ip: '127.0.0.1', currency: 'cny', subject: 'compat debit', body: 'compat debit', extra: { agreement: a.id } });
  check(isPlainObject(ch) && ch.object === 'charge' && ch.paid === true && ch.extra.agreement === a.id,
    'charges.create (debit): not a paid charge naming the agreement', ch);
  events.push(checkWebhook(await hooks.waitFor('charge.succeeded', ch.id, STEP_TIMEOUT_MS), 'charge.succeeded', 'charge', ch.id, pubKey).id);

  step = 'agreements.notify';
  const nerr = await expectReject(sdk.agreements.notify(a.id, { amount: CHARGE_AMOUNT }), 'agreements.notify on alipay');
  check(nerr instanceof PingppErrors.PingppInvalidRequestError, 'agreements.notify on alipay: not an invalid_request_error', nerr && nerr.type);

  step = 'agreements.cancel';
  const canceled = await sdk.agreements.cancel(a.id);
  checkAgreement(canceled, 'agreements.cancel', app, a.id, 'canceled');
  check(isInt(canceled.time_canceled), 'agreements.cancel: no time_canceled', canceled);
  events.push(checkWebhook(await hooks.waitFor('agreement.canceled', a.id, STEP_TIMEOUT_MS), 'agreement.canceled', 'agreement', a.id, pubKey).id);
  return { agreement: a.id, charge: ch.id, events };
}

// subAppFlow: a platform's sub-app through Ping++'s subApps resource
// (create, retrieve, list, update, its channels, delete); the platform's
// key makes a charge for it.
async function subAppFlow(cfg, sdk) {
  const app = cfg.app;
  step = 'subApps.create';
  check(typeof sdk.subApps === 'object', 'pingpp 2.1.6 has no subApps resource');
  const sub = await sdk.subApps.create(app, { display_name: 'compat shop', user: 'compat_user', description: 'node sdk',
    metadata: { compat: 'node' } });
  check(isPlainObject(sub) && sub.object === 'sub_app' && /^app_[0-9A-Za-z]+$/.test(sub.id || '') && sub.parent_app === app &&
    sub.level === 1 && sub.display_name === 'compat shop' && sub.user === 'compat_user' && Array.isArray(sub.available_methods),
    'subApps.create: not the sub-app', sub);
  check(isPlainObject(sub.keys) && /^sk_test_/.test(sub.keys.secret_key_test || ''), 'subApps.create: no keys of its own', sub.keys);
  step = 'subApps.retrieve';
  const got = await sdk.subApps.retrieve(app, sub.id);
  check(got.id === sub.id && got.keys === undefined && got.description === 'node sdk', 'subApps.retrieve', got);
  step = 'subApps.list';
  const l = await sdk.subApps.list(app, { limit: 10 });
  checkList(l, '/v1/apps/' + app + '/sub_apps', 'subApps.list');
  check(l.data.some((x) => x.id === sub.id), 'subApps.list: the sub-app is missing', l.data);
  step = 'subApps.update';
  const upd = await sdk.subApps.update(app, sub.id, { description: 'updated' });
  check(upd.id === sub.id && upd.description === 'updated', 'subApps.update', upd);

  step = 'subApps.createChannel';
  const c = await sdk.subApps.createChannel(app, sub.id, { channel: 'alipay_qr', banned: true, banned_msg: 'paused', description: 'qr' });
  check(c.object === 'channel' && c.app === sub.id && c.channel === 'alipay_qr' && c.banned === true && c.banned_msg === 'paused',
    'subApps.createChannel', c);
  step = 'charges.create (banned)';
  const body = { order_no: 'sub' + randomAlnum(12), app: { id: sub.id }, channel: 'alipay_qr', amount: CHARGE_AMOUNT,
    client_ip: '127.0.0.1', currency: 'cny', subject: 'compat sub-app', body: 'compat sub-app' };
  const berr = await expectReject(sdk.charges.create(body), 'charges.create on a banned channel');
  check(berr instanceof PingppErrors.PingppInvalidRequestError && berr.param === 'channel', 'banned channel: not invalid_request_error naming channel', berr);
  step = 'subApps.updateChannel';
  const c2 = await sdk.subApps.updateChannel(app, sub.id, 'alipay_qr', { banned: false });
  check(c2.banned === false, 'subApps.updateChannel', c2);
  step = 'subApps.retrieveChannel';
  const c3 = await sdk.subApps.retrieveChannel(app, sub.id, 'alipay_qr');
  check(c3.banned === false && c3.description === 'qr', 'subApps.retrieveChannel', c3);
  step = 'charges.create (for the sub-app)';
  const ch = await sdk.charges.create(body);
  check(ch.object === 'charge' && ch.app === sub.id && isPlainObject(ch.credential), 'charges.create for the sub-app', ch);
  step = 'subApps.deleteChannel';
  const dc = await sdk.subApps.deleteChannel(app, sub.id, 'alipay_qr');
  check(dc.deleted === true, 'subApps.deleteChannel', dc);
  step = 'subApps.delete';
  const del = await sdk.subApps.delete(app, sub.id);
  check(del.deleted === true && del.id === sub.id, 'subApps.delete', del);

  step = 'identification.identify';
  check(typeof sdk.identification === 'object', 'pingpp 2.1.6 has no identification resource');
  const idn = await sdk.identification.identify({ type: 'bank_card', app,
    data: { id_name: '张三', id_number: '11010519491231002X', card_number: '6216261000000000018', phone_number: '13800138000' } });
  check(idn.object === 'identification' && idn.result_code === 0 && idn.type === 'bank_card' && idn.data.card_number.endsWith('0018') &&
    !JSON.stringify(idn).includes('6216261000000000018'), 'identification.identify', idn);
  const mis = await sdk.identification.identify({ type: 'id_card', app, data: { id_name: '王不符', id_number: '11010519491231002X' } });
  check(mis.result_code === 3001, 'identification.identify (mismatch)', mis);
  return { sub_app: sub.id, charge: ch.id, events: [] };
}

// royaltyFlow: Ping++'s royalty family through the Node SDK. A shop under
// an agent sub-app (whose user is the platform's) takes an order named
// with a two-level template; paid, it makes one royalty per level above
// the shop; a settlement pays them
// (the platform's own share and the user's balance); a refund takes a
// share back; a manual mark settles it outside.
async function royaltyFlow(cfg, sdk, hooks, pubKey) {
  const app = cfg.app;
  const tag = randomAlnum(8);
  const agent = 'cmpR_' + tag;
  const events = [];
  step = 'royalty: users and sub-app';
  check(['royaltyTemplates', 'royalties', 'royaltySettlements', 'royaltyTransactions'].every((r) => typeof sdk[r] === 'object'),
    'pingpp 2.1.6 has no royalty resources');
  checkUser(await sdk.users.create(app, { id: agent, name: 'Agent' }), 'users.create (royalty)', app, agent, 0);
  const agentApp = await sdk.subApps.create(app, { display_name: 'royalty agent ' + tag, user: agent });
  const sub = await sdk.subApps.create(app, { display_name: 'royalty shop ' + tag, parent_app: agentApp.id });
  check(sub.level === 2 && sub.parent_app === agentApp.id, 'subApps.create under the agent', sub);

  step = 'royaltyTemplates.create';
  const rule = { royalty_mode: 'rate', refund_mode: 'proportional', allocation_mode: 'receipt_reserved',
    data: [{ level: 0, value: 500 }, { level: 1, value: 300 }] };
  const tmpl = await sdk.royaltyTemplates.create({ app, name: 'compat ' + tag, rule, description: 'node sdk' });
  check(isPlainObject(tmpl) && tmpl.object === 'royalty_template' && tmpl.app === app && jsonEqual(tmpl.rule, rule),
    'royaltyTemplates.create', tmpl);
  step = 'royaltyTemplates.retrieve';
  check(jsonEqual(await sdk.royaltyTemplates.retrieve(tmpl.id), tmpl), 'royaltyTemplates.retrieve differs from create');
  step = 'royaltyTemplates.list';
  const tl = await sdk.royaltyTemplates.list({ page: 1, per_page: 10 });
  checkList(tl, '/v1/royalty_templates', 'royaltyTemplates.list');
  check(tl.data.some((x) => x.id === tmpl.id), 'royaltyTemplates.list: the template is missing', tl.data);
  step = 'royaltyTemplates.update';
  const ut = await sdk.royaltyTemplates.update(tmpl.id, { name: 'compat renamed' });
  check(ut.name === 'compat renamed' && jsonEqual(ut.rule, rule), 'royaltyTemplates.update', ut);

  step = 'orders.create (royalty_template)';
  const orderNo = 'ry' + Date.now() + randomAlnum(6);
  const order = await sdk.orders.create({ app: sub.id, merchant_order_no: orderNo, amount: 10000, currency: 'cny',
    client_ip: '127.0.0.1', subject: 'compat royalty', body: 'compat royalty order', royalty_template: tmpl.id });
  check(order.object === 'order' && order.app === sub.id, 'orders.create for the sub-app', order);
  step = 'orders.pay (royalty)';
  const paying = await sdk.orders.pay(order.id, { channel: 'alipay_qr' });
  const chargeId = paying.charge;
  const opay = await rawRequest(cfg, 'POST', '/v1/test/charges/' + chargeId + '/pay', { result: 'success' }, cfg.key);
  check(opay.status === 200 && opay.json.paid === true, 'royalty order: test pay', opay.raw.toString('utf8'));
  events.push(checkWebhook(await hooks.waitFor('charge.succeeded', chargeId, STEP_TIMEOUT_MS), 'charge.succeeded', 'charge', chargeId, pubKey).id);
  events.push(checkWebhook(await hooks.waitFor('order.succeeded', order.id, STEP_TIMEOUT_MS), 'order.succeeded', 'order', order.id, pubKey).id);

  step = 'royalties.list';
  const rl = await sdk.royalties.list({ payer_app: sub.id, page: 1, per_page: 10 });
  checkList(rl, '/v1/royalties', 'royalties.list');
  const byApp = {};
  for (const r of rl.data) {
    check(r.object === 'royalty' && r.payer_app === sub.id && r.status === 'created' && r.source_no === orderNo &&
      r.source_url === '/v1/orders/' + order.id, 'royalties.list: not the order\'s royalty', r);
    byApp[r.recipient_app] = r;
  }
  check(rl.data.length === 2 && byApp[app].amount === 500 && byApp[app].source_user === null &&
    byApp[agentApp.id] && byApp[agentApp.id].source_user === agent, 'royalties.list: not 5 % to the platform and 3 % to the agent user', rl.data);
  const agentRoyalty = rl.data.find((r) => r.source_user === agent);
  check(agentRoyalty && agentRoyalty.amount === 300, 'royalties.list: no 3 % share for the agent user', rl.data);
  step = 'royalties.retrieve';
  const gr = await sdk.royalties.retrieve(agentRoyalty.id);
  check(jsonEqual(gr, agentRoyalty), 'royalties.retrieve differs from the list', gr);

  step = 'royaltySettlements.create (preview)';
  const pv = await sdk.royaltySettlements.create({ payer_app: sub.id, method: 'balance', is_preview: true, source_user: agent });
  check(pv.object === 'royalty_settlement' && pv.amount === 300 && pv.count === 1, 'royaltySettlements.create (preview)', pv);
  step = 'royaltySettlements.create';
  const st = await sdk.royaltySettlements.create({ payer_app: sub.id, method: 'balance', source_user: agent, metadata: { compat: 'node' } });
  check(st.status === 'created' && st.amount === 300 && st.royalty_transactions.data.length === 1, 'royaltySettlements.create', st);
  step = 'royaltySettlements.list';
  const sl = await sdk.royaltySettlements.list({ payer_app: sub.id, page: 1 });
  checkList(sl, '/v1/royalty_settlements', 'royaltySettlements.list');
  check(sl.data.some((x) => x.id === st.id), 'royaltySettlements.list: the settlement is missing', sl.data);
  step = 'royaltySettlements.update';
  const done = await sdk.royaltySettlements.update(st.id, { status: 'pending' });
  check(done.status === 'succeeded' && done.amount_succeeded === 300 && isInt(done.time_finished), 'royaltySettlements.update (pending)', done);
  checkUser(await sdk.users.retrieve(app, agent), 'users.retrieve after the royalty settlement', app, agent, 300);
  // The settlement's end is an event, delivered to the platform's endpoint.
  events.push(checkWebhook(await hooks.waitFor('royalty_settlement.succeeded', st.id, STEP_TIMEOUT_MS),
    'royalty_settlement.succeeded', 'royalty_settlement', st.id, pubKey).id);
  step = 'royaltySettlements.retrieve';
  check((await sdk.royaltySettlements.retrieve(st.id)).status === 'succeeded', 'royaltySettlements.retrieve');
  step = 'royaltyTransactions.list';
  const xl = await sdk.royaltyTransactions.list({ royalty_settlement: st.id, page: 1 });
  checkList(xl, '/v1/royalty_transactions', 'royaltyTransactions.list');
  check(xl.data.length === 1 && xl.data[0].status === 'succeeded' && xl.data[0].source_user === agent, 'royaltyTransactions.list', xl.data);
  step = 'royaltyTransactions.retrieve';
  check(jsonEqual(await sdk.royaltyTransactions.retrieve(xl.data[0].id), xl.data[0]), 'royaltyTransactions.retrieve');

  step = 'royalties.batchUpdate';
  const platShare = byApp[app];
  const bu = await sdk.royalties.batchUpdate({ ids: [platShare.id], method: 'manual', description: 'settled offline' });
  checkList(bu, '/v1/royalties', 'royalties.batchUpdate');
  check(bu.data.length === 1 && bu.data[0].status === 'succeeded' && bu.data[0].method === 'manual', 'royalties.batchUpdate', bu.data);
  step = 'royaltySettlements.cancel';
  const nothing = await expectReject(sdk.royaltySettlements.create({ payer_app: sub.id, method: 'balance' }), 'a settlement with nothing left');
  check(nothing instanceof PingppErrors.PingppInvalidRequestError && nothing.param === 'payer_app', 'nothing to settle: not naming payer_app', nothing);
  step = 'royaltyTemplates.delete';
  const dt = await sdk.royaltyTemplates.del(tmpl.id);
  check(dt.deleted === true && dt.id === tmpl.id, 'royaltyTemplates.delete', dt);
  return { template: tmpl.id, order: order.id, settlement: st.id, events };
}

// sandboxApplePayToken makes the paymentData the sandbox accepts for a test
// card, in the format of sim/stripesim's ApplePayToken: an EC_v1 token whose
// data is the (unencrypted, sandbox) payment data.
function sandboxApplePayToken(pan) {
  const exp = new Date();
  const yy = String((exp.getUTCFullYear() + 2) % 100).padStart(2, '0');
  const data = { applicationPrimaryAccountNumber: pan, applicationExpirationDate: yy + '1231',
    currencyCode: '840', deviceManufacturerIdentifier: '040010030273', paymentDataType: '3DSecure',
    paymentData: { onlinePaymentCryptogram: crypto.randomBytes(20).toString('base64'), eciIndicator: '07' } };
  return { version: 'EC_v1', data: Buffer.from(JSON.stringify(data)).toString('base64'),
    signature: Buffer.from('sandbox').toString('base64'),
    header: { ephemeralPublicKey: crypto.randomBytes(65).toString('base64'),
      publicKeyHash: crypto.randomBytes(32).toString('base64'), transactionId: crypto.randomBytes(16).toString('hex') } };
}

async function main() {
  const cfg = {
    host: env('POLYPAY_HOST'),
    port: Number(env('POLYPAY_PORT')),
    key: env('POLYPAY_KEY'),
    pk: env('POLYPAY_PK'),
    app: env('POLYPAY_APP'),
    applePayToken: process.env.POLYPAY_APPLEPAY_TOKEN
      ? JSON.parse(process.env.POLYPAY_APPLEPAY_TOKEN) : sandboxApplePayToken('4242424242424242'),
  };
  const pubKey = fs.readFileSync(env('POLYPAY_PUBKEY_FILE'), 'utf8');
  replyKey = fs.readFileSync(env('POLYPAY_REPLY_PUBKEY_FILE'), 'utf8');
  check(replyKey.trim() !== pubKey.trim(), 'the API reply key is the webhook key', replyKey.slice(0, 80));
  check(SDK_VERSION === '2.1.6', 'pingpp SDK version is not 2.1.6', SDK_VERSION);
  check(/^sk_test_/.test(cfg.key), 'POLYPAY_KEY must be a sk_test_ key', cfg.key.slice(0, 8));

  // The SDK, re-pointed at polypay: host, port and protocol only.
  const sdk = pingpp(cfg.key);
  sdk.setHost(cfg.host, cfg.port, 'http');
  sdk.setTimeout(STEP_TIMEOUT_MS); // the default is Node's server timeout (0: none)
  check(sdk.getApiField('protocol') === 'http' && sdk.getApiField('host') === cfg.host,
    'setHost did not switch the SDK to plain HTTP', { host: sdk.getApiField('host'), protocol: sdk.getApiField('protocol') });
  // The legacy tokens resource left the SDKs (spec §2.10): cards are
  // tokenized with plain HTTP, as a browser would.
  check(!('tokens' in sdk), 'pingpp 2.1.6 has a tokens resource: tokenize with it');
  check(typeof sdk.charges.reverse === 'function', 'pingpp 2.1.6 has no charges.reverse');

  // --- The public key polypay serves, to the secret key only, is the one
  // we were given: the app's test-mode webhook key.
  step = 'public_key';
  const pkAnon = await rawRequest(cfg, 'GET', '/v1/webhook_endpoints/public_key');
  check(pkAnon.status === 401, 'GET /v1/webhook_endpoints/public_key without a key: status is not 401', pkAnon.status);
  const pk = await rawRequest(cfg, 'GET', '/v1/webhook_endpoints/public_key', undefined, cfg.key);
  check(pk.status === 200, 'GET /v1/webhook_endpoints/public_key: status', pk.status);
  check(pk.raw.toString('utf8').trim() === pubKey.trim(),
    'GET /v1/webhook_endpoints/public_key does not match POLYPAY_PUBKEY_FILE', pk.raw.toString('utf8'));
  check(/^-----BEGIN PUBLIC KEY-----/.test(pubKey.trim()), 'webhook public key is not SPKI PEM (spec §4.3)', pubKey.slice(0, 40));

  // --- Webhook receiver, registered with plain HTTP (the SDK has no resource for it).
  step = 'webhook_endpoint';
  const hooks = await startWebhookReceiver();
  const we = await rawRequest(cfg, 'POST', '/v1/webhook_endpoints', { app: cfg.app, url: hooks.url }, cfg.key);
  check(we.status === 200, 'POST /v1/webhook_endpoints: status ' + we.status, we.raw.toString('utf8'));
  checkRawReply(we, 'POST /v1/webhook_endpoints', pubKey);
  check(isPlainObject(we.json) && typeof we.json.id === 'string' && we.json.id !== '',
    'POST /v1/webhook_endpoints: no id in reply', we.json);

  // --- The whole flow, channel by channel.
  const results = [];
  for (const spec of CHANNELS) {
    results.push(await channelFlow(cfg, sdk, hooks, pubKey, spec));
  }
  const first = results[0]; // alipay_qr

  // --- charges.list
  step = 'charges.list';
  const list = await sdk.charges.list({ app: { id: cfg.app }, limit: 3 });
  checkList(list, '/v1/charges', 'charges.list');
  check(list.data.length === 3, 'charges.list: not 3 items with limit=3 and ' + results.length + ' charges', list.data.length);
  check(list.data.every((c) => isPlainObject(c) && c.object === 'charge'), 'charges.list: items are not charges', list.data);
  const latest = results.slice(-3).map((r) => r.charge);
  check(list.data.every((c) => latest.includes(c.id)), 'charges.list: the first page is not the 3 newest charges',
    { listed: list.data.map((c) => c && c.id), newest: latest });
  check(list.has_more === true, 'charges.list: has_more is not true with more charges than limit', list.has_more);
  const all = await sdk.charges.list({ app: { id: cfg.app }, limit: 100 });
  checkList(all, '/v1/charges', 'charges.list limit=100');
  for (const r of results) {
    check(all.data.some((c) => c && c.id === r.charge), 'charges.list: the ' + r.channel + ' charge is not listed',
      all.data.map((c) => c && c.id));
  }

  // --- Errors: unknown charge (spec §1.10, §2.2.3)
  step = 'error: unknown charge';
  const missing = 'ch_doesnotexist' + randomAlnum(12);
  const e404 = await expectReject(sdk.charges.retrieve(missing), 'charges.retrieve(' + missing + ')');
  check(e404 instanceof PingppErrors.PingppInvalidRequestError,
    'unknown charge: not a PingppInvalidRequestError', { type: e404.type, message: e404.message });
  check(e404.type === 'PingppInvalidRequest', 'unknown charge: SDK error type', e404.type);
  check(e404.rawType === 'invalid_request_error', 'unknown charge: error.type from polypay', e404.rawType);
  check(e404.param === 'id', 'unknown charge: error.param is not "id"', e404.param);
  check(typeof e404.message === 'string' && e404.message.includes(missing),
    'unknown charge: error.message does not name the id', e404.message);
  // The SDK does not expose the status; check it on the wire.
  const r404 = await rawRequest(cfg, 'GET', '/v1/charges/' + missing, undefined, cfg.key);
  check(r404.status === 404, 'GET /v1/charges/<unknown>: status is not 404', r404.status);
  checkRawReply(r404, 'GET /v1/charges/<unknown>', pubKey);
  check(isPlainObject(r404.json && r404.json.error) && r404.json.error.type === 'invalid_request_error' &&
    r404.json.error.message === e404.message, 'GET /v1/charges/<unknown>: body differs from what the SDK saw', r404.json);

  // --- Errors: bad key (spec §1.2)
  step = 'error: bad key';
  const badKey = 'sk_test_' + randomAlnum(24);
  const bad = pingpp(badKey);
  bad.setHost(cfg.host, cfg.port, 'http');
  bad.setTimeout(STEP_TIMEOUT_MS);
  const e401 = await expectReject(bad.charges.retrieve(first.charge), 'charges.retrieve with a bad key');
  check(e401 instanceof PingppErrors.PingppAuthenticationError,
    'bad key: not a PingppAuthenticationError', { type: e401.type, message: e401.message });
  check(e401.type === 'PingppAuthenticationError', 'bad key: SDK error type', e401.type);
  check(e401.rawType === 'invalid_request_error', 'bad key: error.type from polypay (spec §1.2)', e401.rawType);
  check(typeof e401.message === 'string' && e401.message.includes('API KEY'),
    'bad key: error.message does not come from polypay', e401.message);
  check(!e401.message.includes(badKey), 'bad key: error.message echoes the whole key', e401.message);
  const r401 = await rawRequest(cfg, 'GET', '/v1/charges/' + first.charge, undefined, badKey);
  check(r401.status === 401, 'GET /v1/charges/{id} with a bad key: status is not 401', r401.status);
  // An unauthenticated reply is not signed: it would cost polypay an RSA
  // signature for anyone, and prove nothing (issue 13, item 6).
  check(r401.json !== undefined, 'GET /v1/charges/{id} with a bad key: reply is not JSON', r401.raw.toString('utf8'));
  check(!r401.headers['x-pingplusplus-signature'],
    'GET /v1/charges/{id} with a bad key: an unauthenticated reply is signed', r401.headers['x-pingplusplus-signature']);
  check(r401.json.error.type === 'invalid_request_error',
    'GET /v1/charges/{id} with a bad key: error.type (spec §1.2)', r401.json.error);

  // --- Pre-authorization: hold, capture less, refund; hold, void.
  const preauth = [];
  for (const spec of PREAUTH_CHANNELS) {
    preauth.push(await preauthFlow(cfg, sdk, hooks, pubKey, spec));
  }

  // --- Payouts: transfers, batch transfers, red envelopes, batch refunds.
  const payouts = {
    transfer: await transferFlow(cfg, sdk, hooks, pubKey),
    batch_transfer: await batchTransferFlow(cfg, sdk, hooks, pubKey),
    red_envelope: await redEnvelopeFlow(cfg, sdk, hooks, pubKey),
    batch_refund: await batchRefundFlow(cfg, sdk, hooks, pubKey, results),
  };

  // --- The account system: users, bonuses, balance transfers, recharges,
  // settle accounts, withdrawals, batch withdrawals and transactions.
  const accounts = await accountFlow(cfg, sdk, hooks, pubKey);

  // --- Coupons and the order API: templates, coupons, an order redeeming
  // one paid from the balance and alipay_qr, refunded; cancel, update.
  const orders = await couponOrderFlow(cfg, sdk, hooks, pubKey);

  // --- Debit agreements: an Alipay agreement signed, debited, canceled.
  const agreements = await agreementFlow(cfg, sdk, hooks, pubKey);

  // --- Sub-apps: a platform's merchant, its channel banned and allowed.
  const subApps = await subAppFlow(cfg, sdk);

  // --- Profit sharing: a template, a sub-app's order shared, settled.
  const royalties = await royaltyFlow(cfg, sdk, hooks, pubKey);

  // No unexpected deliveries: one charge.succeeded and one refund.succeeded
  // per channel, plus the pre-authorizations', the payouts' and the account
  // system's events, each event delivered once, every one signed.
  step = 'webhook summary';
  const types = hooks.deliveries.map((d) => (d.json ? d.json.type : '?'));
  const ids = hooks.deliveries.map((d) => (d.json ? d.json.id : '?'));
  check(new Set(ids).size === ids.length, 'webhooks: an event was delivered more than once', ids);
  const expected = results.concat(preauth, Object.values(payouts), [accounts, orders, agreements, royalties]).flatMap((r) => r.events).sort();
  check(jsonEqual(ids.slice().sort(), expected), 'webhooks: the deliveries are not exactly the events of the flows',
    { delivered: ids, expected });
  for (const d of hooks.deliveries) {
    check(verifySignature(d.raw, d.headers['x-pingplusplus-signature'], pubKey),
      'webhooks: a delivery does not verify', d.raw.toString('utf8'));
  }
  hooks.server.close();

  process.stdout.write(JSON.stringify({
    ok: true,
    sdk: 'pingpp ' + SDK_VERSION,
    checks,
    channels: results.map((r) => r.channel),
    charge: first.charge,
    order_no: first.order_no,
    refund: first.refund,
    events: first.events,
    flows: results,
    preauth,
    payouts,
    accounts,
    orders,
    agreements,
    sub_apps: subApps,
    royalties,
    webhooks: types,
  }) + '\n');
}

const overall = setTimeout(() => {
  process.stderr.write('COMPAT FAIL [' + step + ']: overall timeout of ' + OVERALL_TIMEOUT_MS + ' ms\n');
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
overall.unref();

main().then(
  () => process.exit(0),
  (err) => {
    let msg;
    if (err instanceof CheckError) {
      msg = err.message;
    } else if (err && typeof err.type === 'string' && err.type.startsWith('Pingpp')) {
      msg = 'SDK call rejected: ' + err.type + ' ' + short({
        rawType: err.rawType, code: err.code, param: err.param, message: err.message, detail: err.detail,
      });
    } else {
      msg = (err && err.stack) || String(err);
    }
    process.stderr.write('COMPAT FAIL [' + step + ']: ' + msg + '\n');
    process.exit(1);
  },
);
