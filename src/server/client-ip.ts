import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

export type TrustProxy = boolean | number | string[];
export type TrustFn = (addr: string, hop: number) => boolean;

/**
 * The operator's `WXOPEN_TRUST_PROXY` as one function, given to Fastify (`request.ip`) and used by the
 * raw push path, so both read the same address. Nothing is trusted by default: a client can write any
 * `X-Forwarded-For`. A hop count trusts that many proxies in front of the server (Express semantics:
 * the operator asserts that nothing reaches the port directly).
 */
export function trustFunction(trust: TrustProxy): TrustFn {
  if (trust === true) return () => true;
  if (trust === false) return () => false;
  if (typeof trust === 'number') return (_addr, hop) => hop < trust;
  return proxyAddr.compile(trust);
}

/** The client's address: the socket peer, or the first untrusted hop of `X-Forwarded-For`. */
export function clientIp(req: IncomingMessage, trust: TrustFn): string | undefined {
  const addrs = proxyAddr.all(req, trust);
  return addrs[addrs.length - 1] ?? req.socket.remoteAddress;
}
