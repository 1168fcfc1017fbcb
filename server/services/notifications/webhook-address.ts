import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may go. A channel's URL is typed by any deployer, and the request leaves from inside
 * the network Stagebook runs in: without a check, a webhook reaches loopback services, the cloud
 * metadata endpoint (169.254.169.254) or private hosts (SSRF). Only public unicast addresses are
 * allowed unless `STAGEBOOK_WEBHOOK_ALLOW` names the host or a CIDR holding the address.
 *
 * The check runs on the address the request connects to (a `lookup` for the socket), not on a
 * resolution made earlier, so a name that resolves to a public address for the check and a private
 * one for the connection (DNS rebinding) is still refused. Redirects are never followed.
 */
export type WebhookAllowList = { hosts: Set<string>; ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] };

export const EMPTY_ALLOW_LIST: WebhookAllowList = { hosts: new Set(), ranges: [] };

/** Parses `STAGEBOOK_WEBHOOK_ALLOW`: comma-separated host names, addresses and CIDRs. Throws naming a bad entry. */
export function parseWebhookAllowList(value: string | undefined): WebhookAllowList {
  const list: WebhookAllowList = { hosts: new Set(), ranges: [] };
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
    if (!entry) continue;
    if (entry.includes('/')) {
      try {
        list.ranges.push(ipaddr.parseCIDR(entry));
      } catch {
        throw new Error(`"${raw.trim()}" is not a CIDR (like 10.0.0.0/8 or fd00::/8)`);
      }
    } else if (ipaddr.isValid(entry)) {
      const a = ipaddr.parse(entry);
      list.ranges.push([a, a.kind() === 'ipv4' ? 32 : 128]);
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry)) {
      list.hosts.add(entry);
    } else {
      throw new Error(`"${raw.trim()}" is not a host name, an address or a CIDR`);
    }
  }
  return list;
}

export class WebhookAddressRefused extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(`${host}${host === address ? '' : ` resolves to ${address}, which`} is a ${range} address: webhooks go to public addresses only (allow it with STAGEBOOK_WEBHOOK_ALLOW)`);
    this.name = 'WebhookAddressRefused';
  }
}

const RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local (cloud metadata)',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
  uniqueLocal: 'unique-local',
};

/** Why `address` may not be sent to, or null when it may. IPv4-mapped IPv6 counts as its IPv4 address. */
export function refusedRange(address: string, allow: WebhookAllowList): string | null {
  if (!ipaddr.isValid(address)) return 'unparseable';
  // process() turns ::ffff:127.0.0.1 into 127.0.0.1, so the IPv4 rules apply to it.
  const a = ipaddr.process(address);
  for (const [base, bits] of allow.ranges) if (base.kind() === a.kind() && a.match(base, bits)) return null;
  const range = a.range();
  if (range === 'unicast') {
    // ipaddr calls the deprecated IPv4-compatible addresses (::127.0.0.1, in ::/96) unicast.
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)) return 'reserved';
    return null;
  }
  return RANGE_WORDS[range] ?? `special-purpose (${range})`;
}

/** Throws WebhookAddressRefused unless `address` (of `host`) may be sent to. */
export function assertSendable(host: string, address: string, allow: WebhookAllowList): void {
  const range = refusedRange(address, allow);
  if (range) throw new WebhookAddressRefused(host, address, range);
}

/** Host allowed by name: every address it resolves to is accepted. */
export function hostAllowed(host: string, allow: WebhookAllowList): boolean {
  return allow.hosts.has(host.toLowerCase().replace(/\.$/, ''));
}

/** A socket `lookup` that resolves as usual, then refuses the connection if any address is not sendable. */
export function guardedLookup(allow: WebhookAllowList): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      try {
        for (const a of addresses) assertSendable(hostname, a.address, allow);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}
