import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyAddress, refusedAddressClass } from "./address.ts";
import { serverPolicy } from "./policy.ts";

describe("classifyAddress", () => {
  const cases: Array<[string, string]> = [
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["0.0.0.0", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["64:ff9b::7f00:1", "loopback"],
    ["2002:7f00:1::", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["fd00::1", "private"],
    ["::ffff:10.0.0.1", "private"],
    ["169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["224.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["ff02::1", "reserved"],
    ["not-an-ip", "reserved"],
    ["8.8.8.8", "public"],
    ["172.32.0.1", "public"],
    ["2606:4700::1111", "public"],
    ["::ffff:8.8.8.8", "public"],
  ];
  for (const [address, expected] of cases) {
    it(`${address} is ${expected}`, () => assert.equal(classifyAddress(address), expected));
  }
});

describe("refusedAddressClass", () => {
  it("refuses non-public addresses by default and allows them only when the policy says so", () => {
    const strict = serverPolicy();
    assert.equal(refusedAddressClass("127.0.0.1", strict), "loopback");
    assert.equal(refusedAddressClass("10.0.0.1", strict), "private");
    assert.equal(refusedAddressClass("169.254.169.254", strict), "link-local");
    assert.equal(refusedAddressClass("8.8.8.8", strict), undefined);
    const loopback = serverPolicy({ allowLoopback: true });
    assert.equal(refusedAddressClass("127.0.0.1", loopback), undefined);
    assert.equal(refusedAddressClass("10.0.0.1", loopback), "private");
    assert.equal(refusedAddressClass("224.0.0.1", serverPolicy({ allowPrivateNetwork: true })), "reserved");
  });
});
