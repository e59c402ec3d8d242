import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { main, topHelp } from "./main.ts";
import { captureIO } from "./testing.ts";

test("glmv --help lists every registered command", async () => {
  const cap = captureIO();
  assert.equal(await main(["--help"], cap.io), 0);
  assert.match(cap.out(), /Usage: glmv <command>/);
  assert.match(cap.out(), /\n {2}parse {2,}/);
  assert.equal(cap.out(), topHelp());
});

test("an unknown command exits 2 and points to --help", async () => {
  const cap = captureIO();
  assert.equal(await main(["frobnicate"], cap.io), 2);
  assert.match(cap.err(), /unknown command "frobnicate".*glmv --help/);
});

test("<command> --help prints that command's help", async () => {
  const cap = captureIO();
  assert.equal(await main(["parse", "--help"], cap.io), 0);
  assert.match(cap.out(), /glmv parse/);
});

test("the bin script runs on Node 24 and prints its version", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["bin/glmv.ts", "--version"]);
  assert.match(stdout, /^glmv \d+\.\d+\.\d+\n$/);
});
