// The independent baseline of `npm run bench:push`: a minimal push receiver on node:http and node:crypto
// only. It imports NOTHING from wxopen (test/unit/bench-baseline.test.ts fails if it ever does), so the
// bench sees the cost of wxopen's own crypto and XML code instead of sharing it.
//
// It performs every check the protocol requires, as cheaply as plain Node allows: one regex per needed
// field, the timestamp window, constant-time msg_signature compare (crypto.timingSafeEqual), strict base64
// alphabet and length, AES-256-CBC with strict PKCS#7 (1..32, every pad byte), the length header, and the
// receiveId (component appid); for the release test account's text it builds, encrypts and signs the
// passive reply. It stores nothing, unless BASELINE_JOURNAL names a file: then it is the durable baseline,
// the least a receiver that answers only after its push is on disk can do: every accepted push is appended
// to that file (one write per event-loop turn) and answered after an fsync that covers it (one fsync at a
// time, off the event loop; pushes written while one runs share the next). No index, no dedupe, no
// format beyond a JSON string per line: the floor of a durable answer on this disk, not a store.
//
// Configured like `wxopen serve`: PORT, HOST, WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY, WXOPEN_COMPONENT_APPID,
// WXOPEN_PUSH_MAX_SKEW_SECONDS, WXOPEN_BODY_LIMIT_BYTES. Prints `listening on http://host:port` when ready.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { fsync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';

const env = process.env;
const TOKEN = env.WXOPEN_TOKEN ?? '';
const APPID = env.WXOPEN_COMPONENT_APPID ?? '';
const KEY = Buffer.from(`${env.WXOPEN_ENCODING_AES_KEY ?? ''}=`, 'base64');
if (KEY.length !== 32 || TOKEN === '' || APPID === '') throw new Error('WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY and WXOPEN_COMPONENT_APPID are required');
const IV = KEY.subarray(0, 16);
const APPID_BYTES = Buffer.from(APPID);
const MAX_SKEW = Number(env.WXOPEN_PUSH_MAX_SKEW_SECONDS ?? 300);
const BODY_LIMIT = Number(env.WXOPEN_BODY_LIMIT_BYTES ?? 65536);

// The release test account of group 1 (spec 7): its text is answered `<Content>_callback`.
const RELEASE_APPIDS = new Set(['wx570bc396a51b8ff8', 'wxd101a85aa106f53e', 'wx9252c5e0bb1836fc', 'wxc39235c15087f6f3', 'wx8e1097c5bc82cde9', 'wx7720d01d4b2a4500', 'wx14550af28c71a144', 'wx05d483572dcd5d8b', 'wxa35b9c23cfe664eb', 'wx5910277cae6fd970']);

const Q_TIMESTAMP = /[?&]timestamp=(\d{1,12})(?:&|$)/;
const Q_NONCE = /[?&]nonce=([^&]{1,128})/;
const Q_SIGNATURE = /[?&]msg_signature=([0-9a-fA-F]{40})(?:&|$)/;
const ENCRYPT = /<Encrypt><!\[CDATA\[([A-Za-z0-9+/]+={0,2})\]\]><\/Encrypt>/;
const APPID_PATH = /^\/wechat\/authorizer\/(wx[0-9a-zA-Z]{16})$/;
const F_APPID = /<AppId><!\[CDATA\[([^\]]*)\]\]><\/AppId>/;
const F_INFOTYPE = /<InfoType><!\[CDATA\[([^\]]*)\]\]><\/InfoType>/;
const F_TICKET = /<ComponentVerifyTicket><!\[CDATA\[([^\]]+)\]\]><\/ComponentVerifyTicket>/;
const F_AUTHORIZER = /<AuthorizerAppid><!\[CDATA\[([^\]]+)\]\]><\/AuthorizerAppid>/;
const F_CODE = /<AuthorizationCode><!\[CDATA\[([^\]]+)\]\]><\/AuthorizationCode>/;
const F_TO = /<ToUserName><!\[CDATA\[([^\]]*)\]\]><\/ToUserName>/;
const F_FROM = /<FromUserName><!\[CDATA\[([^\]]*)\]\]><\/FromUserName>/;
const F_MSGTYPE = /<MsgType><!\[CDATA\[([^\]]*)\]\]><\/MsgType>/;
const F_CONTENT = /<Content><!\[CDATA\[([^\]]*)\]\]><\/Content>/;
const F_CREATETIME = /<CreateTime>(\d{1,12})<\/CreateTime>/;

const JOURNAL = env.BASELINE_JOURNAL ? openSync(env.BASELINE_JOURNAL, 'a') : undefined;
let turnLines = [];
let turnWaiters = [];
let written = [];
let syncing = false;

/** Runs `done` once `xml` is durable (at once without a journal). */
function persist(xml, done) {
  if (JOURNAL === undefined) return done();
  if (turnLines.length === 0) setImmediate(writeTurn);
  turnLines.push(`${JSON.stringify(xml)}\n`);
  turnWaiters.push(done);
}

function writeTurn() {
  writeSync(JOURNAL, turnLines.join(''));
  turnLines = [];
  for (const done of turnWaiters) written.push(done);
  turnWaiters = [];
  if (!syncing) syncWritten();
}

function syncWritten() {
  const covered = written;
  written = [];
  syncing = true;
  fsync(JOURNAL, (err) => {
    if (err) throw err;
    syncing = false;
    for (const done of covered) done();
    if (written.length > 0) syncWritten();
  });
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

function answer(res, status, body) {
  res.writeHead(status, { ...TEXT, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sign(timestamp, nonce, encrypt) {
  return createHash('sha1').update([TOKEN, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

/** Strict WXBizMsgCrypt decrypt; undefined when anything is off. */
function decrypt(encrypt) {
  if (encrypt.length % 4 !== 0) return undefined;
  const data = Buffer.from(encrypt, 'base64');
  if (data.length === 0 || data.length % 16 !== 0) return undefined;
  const decipher = createDecipheriv('aes-256-cbc', KEY, IV).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data), decipher.final()]);
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > 32 || pad > plain.length) return undefined;
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) return undefined;
  const end = plain.length - pad;
  if (end < 20) return undefined;
  const length = plain.readUInt32BE(16);
  if (length > end - 20) return undefined;
  const appid = plain.subarray(20 + length, end);
  if (!appid.equals(APPID_BYTES)) return undefined;
  return plain.toString('utf8', 20, 20 + length);
}

function encrypt(message) {
  const msg = Buffer.from(message);
  const length = 20 + msg.length + APPID_BYTES.length;
  const pad = 32 - (length % 32);
  const plain = Buffer.alloc(length + pad, pad);
  randomBytes(16).copy(plain, 0);
  plain.writeUInt32BE(msg.length, 16);
  msg.copy(plain, 20);
  APPID_BYTES.copy(plain, 20 + msg.length);
  const cipher = createCipheriv('aes-256-cbc', KEY, IV).setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

function handle(req, res, body) {
  const url = req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let authorizer;
  if (path !== '/wechat/component') {
    const m = APPID_PATH.exec(path);
    if (m === null) return answer(res, 404, 'not found');
    authorizer = m[1];
  }
  const ts = Q_TIMESTAMP.exec(url);
  const nonce = Q_NONCE.exec(url);
  const signature = Q_SIGNATURE.exec(url);
  if (ts === null || nonce === null || signature === null) return answer(res, 400, 'missing params');
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(ts[1])) > MAX_SKEW) return answer(res, 401, 'stale');
  const enc = ENCRYPT.exec(body);
  if (enc === null) return answer(res, 400, 'no Encrypt');
  const expected = Buffer.from(sign(ts[1], decodeURIComponent(nonce[1]), enc[1]));
  if (!timingSafeEqual(expected, Buffer.from(signature[1].toLowerCase()))) return answer(res, 401, 'bad signature');
  const xml = decrypt(enc[1]);
  if (xml === undefined) return answer(res, 400, 'bad ciphertext');
  const created = F_CREATETIME.exec(xml);
  if (created === null) return answer(res, 400, 'no CreateTime');
  if (authorizer === undefined) {
    const appid = F_APPID.exec(xml);
    const infoType = F_INFOTYPE.exec(xml);
    if (appid === null || appid[1] !== APPID || infoType === null) return answer(res, 401, 'not this component');
    if (infoType[1] === 'component_verify_ticket' && F_TICKET.exec(xml) === null) return answer(res, 400, 'no ticket');
    if (infoType[1] === 'authorized' && (F_AUTHORIZER.exec(xml) === null || F_CODE.exec(xml) === null)) return answer(res, 400, 'no code');
    return persist(xml, () => answer(res, 200, 'success'));
  }
  const to = F_TO.exec(xml);
  const from = F_FROM.exec(xml);
  const msgType = F_MSGTYPE.exec(xml);
  if (to === null || from === null || msgType === null) return answer(res, 400, 'not a message');
  if (msgType[1] === 'text' && RELEASE_APPIDS.has(authorizer)) {
    const content = F_CONTENT.exec(xml);
    if (content === null) return answer(res, 400, 'no Content');
    const now = String(Math.floor(Date.now() / 1000));
    const reply =
      `<xml><ToUserName><![CDATA[${from[1]}]]></ToUserName><FromUserName><![CDATA[${to[1]}]]></FromUserName>` +
      `<CreateTime>${now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${content[1]}_callback]]></Content></xml>`;
    const sealed = encrypt(reply);
    const replyNonce = String(randomBytes(4).readUInt32BE(0));
    const out =
      `<xml><Encrypt><![CDATA[${sealed}]]></Encrypt><MsgSignature><![CDATA[${sign(now, replyNonce, sealed)}]]></MsgSignature>` +
      `<TimeStamp>${now}</TimeStamp><Nonce><![CDATA[${replyNonce}]]></Nonce></xml>`;
    return persist(xml, () => {
      res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  }
  return persist(xml, () => answer(res, 200, 'success'));
}

const server = createServer({ keepAliveTimeout: 72_000 }, (req, res) => {
  if (req.method !== 'POST' || !req.url.startsWith('/wechat/')) return answer(res, 404, 'not found');
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > BODY_LIMIT) return req.destroy();
    chunks.push(chunk);
  });
  req.on('end', () => handle(req, res, (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8')));
});
const host = env.HOST ?? '127.0.0.1';
server.listen(Number(env.PORT ?? 0), host, () => {
  process.stdout.write(`baseline listening on http://${host}:${server.address().port}\n`);
});
process.once('SIGTERM', () => process.exit(0));
