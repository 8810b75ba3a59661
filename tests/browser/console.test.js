#!/usr/bin/env node
/*
 * Browser tests of the crgw console (issue 13), run by tests/integration/console_browser.sh
 * against the real binary: Debian's chromium, headless, driven by puppeteer-core, presenting a
 * client certificate from an NSS database ($HOME/.pki/nssdb, one HOME per role, imported with
 * pk12util) that the profile auto-selects for the crgw origin.
 *
 *   node console.test.js PHASE      PHASE: verifier | repair_desk | operator | platform
 *
 * Environment: CRGW_URL (https://127.0.0.1:PORT), CRGW_BROWSER_HOMES (directory holding one
 * HOME per role, named after the role), CRGW_FIXTURES (tests/fixtures/reports), SCREENS (where
 * screenshots go), ORIGIN_PEER (the peer node of the repair application), PLATFORM_APP (the
 * application id the platform decides on). Every request of the page that is not for CRGW_URL
 * fails the test (request interception). Prints "ok ..." / "FAIL ..." lines; exits 1 on any
 * failure.
 */
"use strict";
const path = require("path");
const fs = require("fs");
const puppeteer = require("puppeteer-core");

const URL0 = process.env.CRGW_URL;
const ORIGIN = new URL(URL0).origin;
const HOMES = process.env.CRGW_BROWSER_HOMES;
const FIX = process.env.CRGW_FIXTURES;
const SCREENS = process.env.SCREENS;
const phase = process.argv[2];
let failed = 0;
const figures = {};

function ok(what) { console.log("ok   console_browser/" + phase + ": " + what); }
function fail(what) { console.log("FAIL console_browser/" + phase + ": " + what); failed = 1; }
function expect(what, cond, got) { if (cond) ok(what); else fail(what + (got !== undefined ? ": got [" + got + "]" : "")); }

async function launch(role, acceptLanguage) {
  const home = path.join(HOMES, role);
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    userDataDir: path.join(home, "profile"),
    env: Object.assign({}, process.env, {HOME: home}),
    args: ["--no-sandbox", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-default-apps",
      "--metrics-recording-only", "--no-default-browser-check"],
  });
  const page = await browser.newPage();
  await page.setViewport({width: 1280, height: 900});
  await page.setExtraHTTPHeaders({"Accept-Language": acceptLanguage});
  const foreign = [];
  await page.setRequestInterception(true);
  page.on("request", function (req) {
    const u = req.url();
    if (u.startsWith(ORIGIN + "/") || u.startsWith("data:") || u.startsWith("blob:" + ORIGIN)) {
      req.continue();
    } else {
      foreign.push(u);
      req.abort();
    }
  });
  const errors = [];
  page.on("pageerror", function (e) { errors.push(e.message); });
  page.on("console", function (m) { if (m.type() === "error") errors.push(m.text()); });
  return {browser, page, foreign, errors};
}

async function finish(ctx, label) {
  expect(label + ": no request to any origin but crgw", ctx.foreign.length === 0, ctx.foreign.join(" "));
  const unexpected = ctx.errors.filter(function (e) { return !/status of 403|403 \(\)|Failed to load resource/.test(e); });
  expect(label + ": no script error or CSP violation", unexpected.length === 0, unexpected.join(" | "));
  await ctx.browser.close();
}

async function shot(page, name) {
  fs.mkdirSync(SCREENS, {recursive: true});
  await page.screenshot({path: path.join(SCREENS, name + ".png"), fullPage: true});
}

/* Opens the console and waits for it to be ready; returns the load time measured by the page. */
async function open(page, hash) {
  const t0 = Date.now();
  await page.goto(URL0 + "/" + (hash || ""), {waitUntil: "load", timeout: 15000});
  await page.waitForSelector('body[data-ready="1"]', {timeout: 10000});
  const wall = Date.now() - t0;
  const nav = await page.evaluate(function () {
    const n = performance.getEntriesByType("navigation")[0];
    return {load: n.loadEventEnd, ready: Number(document.body.getAttribute("data-ready-ms"))};
  });
  return {wall: wall, load: nav.load, ready: nav.ready};
}

async function upload(page, file) {
  await page.$eval("#verdict", function (e) { e.removeAttribute("data-state"); });
  const input = await page.$("#verify-file");
  const t0 = Date.now();
  await input.uploadFile(path.join(FIX, file));
  await page.waitForSelector('#verdict[data-state="done"]', {timeout: 10000});
  const wall = Date.now() - t0;
  return page.evaluate(function (w) {
    const v = document.querySelector("#verdict");
    return {
      indication: v.getAttribute("data-indication"), recognised: v.getAttribute("data-recognised"),
      ms: Number(v.getAttribute("data-ms")), wall: w,
      authentic: document.querySelector("#verdict-authentic").textContent,
      recognition: document.querySelector("#verdict-recognised").textContent,
      current: document.querySelector("#verdict-current").textContent,
      sha: document.querySelector("#receipt-sha256").textContent,
      checks: document.querySelectorAll("#verify-checks details").length,
      records: document.querySelectorAll("#report-records tbody tr").length,
    };
  }, wall);
}

function sha256File(file) {
  return require("crypto").createHash("sha256").update(fs.readFileSync(path.join(FIX, file))).digest("hex");
}

const REPORTS = [
  {file: "valid/110000.xml", name: "valid", indication: "TOTAL_PASSED", recognised: "true",
    zh: [/^真实/, /在本地认可.*tender.*jjj/], en: [/^Authentic/, /Recognised here for "tender" under the agreement "jjj"/]},
  {file: "invalid/tampered-content.120000.xml", name: "tampered", indication: "TOTAL_FAILED", recognised: "false",
    zh: [/^不真实.*签名后被改动/, /不予认可/], en: [/^Not authentic: the content was changed after signing/, /Not recognised here/]},
  {file: "valid/510100.json", name: "foreign", indication: "TOTAL_PASSED", recognised: "false",
    zh: [/^真实/, /在本地不予认可.*510100/], en: [/^Authentic/, /Not recognised here: .*510100/]},
];

async function phaseVerifier() {
  const ctx = await launch("verifier", "zh-CN,zh;q=0.9,en;q=0.5");
  const page = ctx.page;
  /* the first load of a cold browser (NSS database, TLS handshake, client certificate) is
   * reported; the page load is measured again with the cache disabled (every asset fetched) */
  const first = await open(page, "");
  figures.first_load_ready_ms = first.ready;
  figures.first_load_wall_ms = first.wall;
  await page.setCacheEnabled(false);
  const t = await open(page, "");
  await page.setCacheEnabled(true);
  figures.page_load_ready_ms = t.ready;
  figures.page_load_event_ms = Math.round(t.load);
  figures.page_load_wall_ms = t.wall;
  expect("page loaded and rendered in < 1000 ms on loopback, no cache (navigation start to ready: " +
    Math.round(t.ready) + " ms; load event " + Math.round(t.load) + " ms)", t.ready > 0 && t.ready < 1000 && t.load < 1000, t.ready);
  expect("Chinese by Accept-Language", (await page.$eval("html", function (e) { return e.lang; })) === "zh-CN");
  expect("verify page shown", await page.$eval("#page-verify", function (e) { return !e.hidden; }));
  /* acceptance 2: no repair or federation control for a verifier */
  const controls = await page.evaluate(function () {
    return ["#page-repair", "#page-federation", "#repair-form", "#nav-repair", "#nav-federation", "button.redrive", "#decision-form"]
      .filter(function (s) { return document.querySelector(s) !== null; });
  });
  expect("a verifier sees no repair or federation control", controls.length === 0, controls.join(","));
  const statuses = await page.evaluate(async function () {
    const calls = [["GET", "/v1/repair/applications"], ["POST", "/v1/repair/applications"],
      ["GET", "/v1/federation/peers"], ["GET", "/v1/federation/status"],
      ["POST", "/v1/federation/peers/330100/dead-letters/redrive"], ["POST", "/v1/repair/decisions"]];
    const out = [];
    for (const c of calls) {
      const r = await fetch(c[1], {method: c[0], body: c[0] === "POST" ? "{}" : undefined, headers: {"content-type": "application/json"}});
      const j = await r.json().catch(function () { return {}; });
      out.push(c[0] + " " + c[1] + " " + r.status + " " + (j.type || ""));
    }
    return out;
  });
  statuses.forEach(function (s) {
    expect("from the page's JavaScript: " + s.replace(/ https.*/, ""), / 403 https:\/\/crgw\.example\/problems\//.test(s), s);
  });
  await shot(page, "verify-empty-zh");

  for (const lang of ["zh", "en"]) {
    if (lang === "en") {
      await page.click("#lang-toggle");
      expect("toggle switches to English", (await page.$eval("html", function (e) { return e.lang; })) === "en");
      expect("the last verdict is redrawn in English", /^Not recognised here/.test(await page.$eval("#verdict-recognised", function (e) { return e.textContent; })));
    }
    for (const r of REPORTS) {
      const v = await upload(page, r.file);
      expect(lang + " " + r.name + ": indication " + r.indication, v.indication === r.indication, v.indication);
      expect(lang + " " + r.name + ": recognised " + r.recognised, v.recognised === r.recognised, v.recognised);
      expect(lang + " " + r.name + ": authenticity in words", r[lang][0].test(v.authentic), v.authentic);
      expect(lang + " " + r.name + ": recognition in words", r[lang][1].test(v.recognition), v.recognition);
      expect(lang + " " + r.name + ": currency in words", (lang === "zh" ? /记录现状/ : /since issue/).test(v.current), v.current);
      expect(lang + " " + r.name + ": receipt has the body SHA-256", v.sha === sha256File(r.file), v.sha);
      expect(lang + " " + r.name + ": checks listed", v.checks >= 5, v.checks);
      if (r.indication === "TOTAL_PASSED")
        expect(lang + " " + r.name + ": canonical report as a table", v.records >= 1, v.records);
      else /* crgw gives no canonical report of a document that is not authentic */
        expect(lang + " " + r.name + ": no report table for a document that is not authentic", v.records === 0, v.records);
      const size = fs.statSync(path.join(FIX, r.file)).size;
      expect(lang + " " + r.name + ": answer shown " + v.ms + " ms after the upload of " + size + " bytes (< 200 ms)", v.ms < 200, v.ms);
      figures["verify_" + r.name + "_" + lang + "_ms"] = v.ms;
      figures["verify_" + r.name + "_" + lang + "_wall_ms"] = v.wall;
      const tr = await page.$eval("#verify-translate", function (e) { return e.disabled; });
      expect(lang + " " + r.name + ": translation offered only for an authentic report", tr === (r.indication !== "TOTAL_PASSED"), tr);
      await shot(page, "verify-" + r.name + "-" + lang);
    }
  }
  /* a file dropped on the drop zone (a compact JWS of another dialect) */
  await page.$eval("#verdict", function (e) { e.removeAttribute("data-state"); });
  const jws = fs.readFileSync(path.join(FIX, "valid/440100.jws"), "utf8");
  await page.evaluate(function (text) {
    const dt = new DataTransfer();
    dt.items.add(new File([text], "440100.jws", {type: "application/jose"}));
    document.querySelector("#verify-drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
  }, jws);
  await page.waitForSelector('#verdict[data-state="done"]', {timeout: 10000});
  const dropped = await page.$eval("#verdict", function (e) { return e.getAttribute("data-indication") + " " + document.querySelector("#receipt-fields").textContent; });
  expect("a dropped file is verified (" + dropped.slice(0, 40) + "…)", /^TOTAL_PASSED .*440100\.jws/.test(dropped), dropped.slice(0, 120));
  /* a check expands */
  await page.click('#verify-checks details[data-check="chain"] summary');
  expect("a check expands", await page.$eval('#verify-checks details[data-check="chain"]', function (e) { return e.open; }));
  /* the translation into this region's dialect (jjj-xml for 120000) */
  const client = await page.target().createCDPSession();
  const dl = path.join(HOMES, "verifier", "downloads");
  fs.rmSync(dl, {recursive: true, force: true});
  fs.mkdirSync(dl, {recursive: true});
  await client.send("Browser.setDownloadBehavior", {behavior: "allow", downloadPath: dl});
  await page.click("#verify-translate");
  await page.waitForSelector("#verify-action-msg[data-file]", {timeout: 10000});
  const fname = await page.$eval("#verify-action-msg", function (e) { return e.getAttribute("data-file"); });
  let got = "";
  for (let i = 0; i < 100 && !got; i++) {
    const f = path.join(dl, fname);
    if (fs.existsSync(f)) got = fs.readFileSync(f, "utf8");
    else await new Promise(function (r) { setTimeout(r, 50); });
  }
  expect("translation downloaded as " + fname, /<XYBG/.test(got) && /translated by crgw/.test(got), got.slice(0, 80));
  await page.emulateMediaType("print");
  await shot(page, "verify-receipt-print");
  await page.emulateMediaType("screen");
  await finish(ctx, "verifier");
}

async function phaseRepairDesk() {
  const ctx = await launch("repair_desk", "en-GB,en;q=0.9");
  const page = ctx.page;
  await open(page, "#repair");
  expect("English by Accept-Language", (await page.$eval("html", function (e) { return e.lang; })) === "en");
  expect("repair page shown", await page.$eval("#page-repair", function (e) { return !e.hidden; }));
  expect("no verify or federation page for a repair desk",
    (await page.$("#page-verify")) === null && (await page.$("#page-federation")) === null);
  async function fill(values) {
    for (const k of Object.keys(values)) {
      const sel = '#repair-form [name="' + k + '"]';
      const tag = await page.$eval(sel, function (e) { return e.tagName; });
      if (tag === "SELECT") await page.select(sel, values[k]);
      else { await page.$eval(sel, function (e) { e.value = ""; }); await page.type(sel, values[k]); }
    }
  }
  const good = {"subject_uscc": "91120116MA06T8E28X", "record.origin_node": process.env.ORIGIN_PEER,
    "record.record_id": "HZJT-2026-0101", "record.domain": "transport", "record.kind": "administrative_penalty",
    "commitment_sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
    "applicant.name": "天津海河通达物流有限公司", "applicant.contact": "022-0000000"};
  /* a bad USCC: the client-side check names the field */
  await fill(Object.assign({}, good, {"subject_uscc": "91120116MA06T8E28Y"}));
  await page.click("#repair-submit");
  const e1 = await page.$eval('.field-error[data-for="subject_uscc"]', function (e) { return e.textContent; });
  expect("bad USCC: the error names the field (" + e1 + ")", /USCC/.test(e1) && /check character/.test(e1), e1);
  await shot(page, "repair-bad-uscc-en");
  /* the server's validation, shown beside its field: an origin node the federation lacks */
  await fill(Object.assign({}, good, {"record.origin_node": "999999"}));
  await page.click("#repair-submit");
  await page.waitForFunction(function () { return document.querySelector('.field-error[data-for="record.origin_node"]').textContent !== ""; }, {timeout: 5000});
  const e2 = await page.$eval('.field-error[data-for="record.origin_node"]', function (e) { return e.textContent; });
  expect("server-side error shown at the field it names (" + e2 + ")", /record.origin_node: unknown node "999999"/.test(e2), e2);
  const e2u = await page.$eval('.field-error[data-for="subject_uscc"]', function (e) { return e.textContent; });
  expect("the corrected USCC field has no error any more", e2u === "", e2u);
  /* the good application */
  await fill(good);
  await page.click("#repair-submit");
  await page.waitForSelector("#repair-form-msg[data-application]", {timeout: 5000});
  const id = await page.$eval("#repair-form-msg", function (e) { return e.getAttribute("data-application"); });
  expect("application filed: " + id, /^[0-9A-Z]{26}$/.test(id), id);
  await page.waitForSelector('#repair-list tr[data-id="' + id + '"]', {timeout: 5000});
  const row = await page.$eval('#repair-list tr[data-id="' + id + '"]', function (e) { return e.textContent; });
  expect("the application is listed with its status and deadlines", /submitted/.test(row) && /\d{4}-\d{2}-\d{2}/.test(row), row);
  const hist = await page.$$eval("#repair-detail ol.history li", function (l) { return l.length; });
  expect("its history is shown", hist >= 1, hist);
  fs.writeFileSync(path.join(HOMES, "application-id"), id);
  await shot(page, "repair-filed-en");
  await page.click("#lang-toggle");
  const rowzh = await page.$eval('#repair-list tr[data-id="' + id + '"] td.status', function (e) { return e.textContent; });
  expect("status in Chinese after the toggle", /已提交/.test(rowzh), rowzh);
  const msgzh = await page.$eval("#repair-form-msg", function (e) { return e.textContent; });
  expect("the filing's message follows the toggle (" + msgzh + ")", /^申请已提交/.test(msgzh), msgzh);
  await shot(page, "repair-filed-zh");
  await finish(ctx, "repair_desk");
}

async function phaseOperator() {
  const peer = process.env.ORIGIN_PEER;
  const ctx = await launch("operator", "zh-CN,zh;q=0.9");
  const page = ctx.page;
  await open(page, "#federation");
  expect("federation page shown", await page.$eval("#page-federation", function (e) { return !e.hidden; }));
  const row = 'tr[data-node="' + peer + '"]';
  await page.waitForFunction(function (r) {
    const e = document.querySelector("#fed-peers " + r + " td.dead");
    return e && Number(e.textContent) > 0;
  }, {timeout: 10000}, row);
  const before = await page.$eval("#fed-peers " + row, function (e) {
    return {lag: e.querySelector(".lag").textContent, dead: e.querySelector(".dead").textContent};
  });
  expect("peer " + peer + " has a dead letter (" + before.dead + "), lag " + before.lag, Number(before.dead) >= 1);
  const deadList = await page.$$eval('#fed-dead ul[data-node="' + peer + '"] li', function (l) { return l.map(function (x) { return x.textContent; }); });
  expect("the dead letters are listed with their reason", deadList.length >= 1 && /application/.test(deadList[0]), deadList.join(" | "));
  const anchors = await page.$$eval("#fed-anchors tbody tr", function (l) { return l.length; });
  expect("trust anchors with their expiry", anchors >= 10, anchors);
  const trust = await page.$eval("#fed-trust .value", function (e) { return e.textContent; });
  expect("trust version shown", /^[0-9a-f]{16}…$/.test(trust), trust);
  const errs = await page.$$eval("#fed-errors li", function (l) { return l.map(function (x) { return x.textContent; }); });
  expect("recent warnings listed (the dead-lettering)", errs.some(function (e) { return /dead letters/.test(e); }), errs.slice(0, 3).join(" | "));
  expect("cache hit rate shown", /%|—/.test(await page.$eval("#fed-cache .value", function (e) { return e.textContent; })));
  await shot(page, "federation-dead-letter-zh");
  await page.click('#fed-peers button.redrive[data-node="' + peer + '"]');
  const t0 = Date.now();
  try {
    await page.waitForFunction(function (r) {
      const e = document.querySelector("#fed-peers " + r);
      return e && e.querySelector(".lag").textContent === "0" && e.querySelector(".dead").textContent === "0";
    }, {timeout: 20000}, row);
    ok("after the redrive the lag and the dead letters of " + peer + " go to 0 (" + (Date.now() - t0) + " ms, auto-refresh)");
  } catch (e) {
    const now = await page.$eval("#fed-peers " + row, function (e) { return e.textContent; });
    fail("after the redrive the lag did not go to 0: " + now);
  }
  await page.click("#lang-toggle");
  await shot(page, "federation-after-redrive-en");
  await finish(ctx, "operator");
}

async function phasePlatform() {
  const id = process.env.PLATFORM_APP;
  const ctx = await launch("platform", "zh-CN,zh;q=0.9");
  const page = ctx.page;
  await open(page, "#repair");
  expect("repair page shown to the platform", await page.$eval("#page-repair", function (e) { return !e.hidden; }));
  expect("no filing form for the platform", (await page.$("#repair-form")) === null);
  const sel = '#repair-list tr[data-id="' + id + '"]';
  await page.waitForSelector(sel, {timeout: 10000});
  const od = await page.$eval('#repair-list tr[data-id="' + process.env.OVERDUE_APP + '"]', function (e) {
    return {cls: e.className, color: getComputedStyle(e.querySelector("td")).color, text: e.textContent};
  });
  expect("an overdue application is flagged and red (" + od.color + ")",
    /overdue/.test(od.cls) && od.color === "rgb(179, 38, 30)" && /逾期/.test(od.text), JSON.stringify(od));
  const notOd = await page.$eval(sel, function (e) { return e.className; });
  expect("a fresh application is not flagged", !/overdue/.test(notOd), notOd);
  await page.click(sel);
  await page.waitForSelector("#decision-form", {timeout: 5000});
  await page.select("#d-decision", "accepted");
  await page.type("#d-decided_by", "天津市交通运输委员会");
  await page.click("#decision-form button[type=submit]");
  await page.waitForFunction(function () { const m = document.querySelector("#d-msg"); return m && m.textContent; }, {timeout: 5000});
  const msg = await page.$eval("#d-msg", function (e) { return e.textContent; });
  expect("decision at the origin recorded (" + msg + ")", /决定已记录/.test(msg), msg);
  await page.waitForFunction(function (s) { const e = document.querySelector(s + " td.status"); return e && /已受理/.test(e.textContent); }, {timeout: 5000}, sel);
  ok("the application shows 已受理 (accepted)");
  await shot(page, "repair-decision-zh");
  await finish(ctx, "platform");
}

(async function () {
  const phases = {verifier: phaseVerifier, repair_desk: phaseRepairDesk, operator: phaseOperator, platform: phasePlatform};
  if (!phases[phase]) { console.log("usage: console.test.js verifier|repair_desk|operator|platform"); process.exit(2); }
  try {
    await phases[phase]();
  } catch (e) {
    fail("unexpected: " + (e && e.stack || e));
  }
  if (Object.keys(figures).length) console.log("figures " + phase + ": " + JSON.stringify(figures));
  process.exit(failed ? 1 : 0);
})();
