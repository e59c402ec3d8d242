/**
 * Classifies IP addresses for the URL-fetch policy: loopback, private, link-local, reserved or public.
 * Pure; IPv4-mapped, NAT64 and 6to4 IPv6 forms are classified by the IPv4 address they carry.
 */
import { BlockList, isIP } from "node:net";
import type { MediaPolicy } from "./policy.ts";

/** The class of an address, from the fetch policy's point of view. */
export type AddressClass = "loopback" | "private" | "link-local" | "reserved" | "public";

function list(v4: Array<[string, number]>, v6: Array<[string, number]>): BlockList {
  const b = new BlockList();
  for (const [net, prefix] of v4) b.addSubnet(net, prefix, "ipv4");
  for (const [net, prefix] of v6) b.addSubnet(net, prefix, "ipv6");
  return b;
}

const LOOPBACK = list(
  [
    ["127.0.0.0", 8],
    ["0.0.0.0", 8], // "this host": connecting to 0.0.0.0 reaches localhost on Linux
  ],
  [
    ["::1", 128],
    ["::", 128],
  ],
);
const LINK_LOCAL = list([["169.254.0.0", 16]], [["fe80::", 10]]);
const PRIVATE = list(
  [
    ["10.0.0.0", 8],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
    ["100.64.0.0", 10], // carrier-grade NAT
    ["192.0.0.0", 24], // IETF protocol assignments
    ["198.18.0.0", 15], // benchmarking
  ],
  [
    ["fc00::", 7], // unique local
    ["fec0::", 10], // deprecated site-local
  ],
);
const RESERVED = list(
  [
    ["224.0.0.0", 4], // multicast
    ["240.0.0.0", 4], // reserved, broadcast
    ["192.0.2.0", 24], // documentation
    ["198.51.100.0", 24],
    ["203.0.113.0", 24],
  ],
  [
    ["ff00::", 8], // multicast
    ["2001:db8::", 32], // documentation
    ["100::", 64], // discard
  ],
);

function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1];
  const groups = expandIpv6(lower);
  if (!groups) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  // ::ffff:a.b.c.d in hex form, NAT64 64:ff9b::/96, 6to4 2002:AABB:CCDD::/16
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return v4(groups[6], groups[7]);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    return v4(groups[6], groups[7]);
  }
  if (groups[0] === 0x2002) return v4(groups[1], groups[2]);
  return undefined;
}

function expandIpv6(address: string): number[] | undefined {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split(".").map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  const groups = [...h, ...Array(Math.max(0, fill)).fill("0"), ...t].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The class of an IPv4 or IPv6 literal; "reserved" for anything that is not a valid IP. */
export function classifyAddress(address: string): AddressClass {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const family = isIP(bare);
  if (family === 0) return "reserved";
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    if (v4) return classifyAddress(v4);
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  if (LOOPBACK.check(bare, type)) return "loopback";
  if (LINK_LOCAL.check(bare, type)) return "link-local";
  if (PRIVATE.check(bare, type)) return "private";
  if (RESERVED.check(bare, type)) return "reserved";
  return "public";
}

/** Whether a policy lets a fetch connect to this address; returns the refused class, or undefined when allowed. */
export function refusedAddressClass(address: string, policy: MediaPolicy): AddressClass | undefined {
  const cls = classifyAddress(address);
  if (cls === "public") return undefined;
  if (cls === "loopback" && policy.allowLoopback) return undefined;
  if (cls === "private" && policy.allowPrivateNetwork) return undefined;
  if (cls === "link-local" && policy.allowLinkLocal) return undefined;
  return cls;
}
