/*
 * The crgw console: one page, three views (verify, repair, federation), shown according to the
 * roles of the client certificate (GET /v1/whoami). Everything is fetched from the crgw that
 * served the page (Content-Security-Policy: default-src 'self'); no inline script, no external
 * asset. Chinese first; English by Accept-Language (whoami.lang) or the toggle (kept in
 * localStorage).
 */
"use strict";
(function () {
  const SCENARIOS = ["tender", "award", "bond", "funding", "listing", "merger", "property_rights",
    "qualification", "quotation", "recruitment", "refinancing", "subsidy"];
  const DOMAINS = ["transport", "tax", "fire_safety", "ecology_environment", "market_regulation",
    "human_resources_social_security", "housing_construction", "emergency_management",
    "public_security", "medical_insurance"];
  const KINDS = ["administrative_penalty", "administrative_compulsory_measure",
    "serious_dishonesty_list", "abnormal_operation_list", "criminal_judgment", "other_dishonesty"];
  const STATUSES = ["open", "submitted", "delivered", "accepted", "refused", "repaired", "rejected",
    "revoked"];
  const DECISIONS = ["accepted", "refused", "repaired", "rejected", "revoked"];
  const PAGES = [
    {id: "verify", roles: ["verifier"]},
    {id: "repair", roles: ["repair_desk", "platform"]},
    {id: "federation", roles: ["operator"]},
  ];

  const T = {
    zh: {
      "brand": "信用报告互认网关", "loading": "正在加载…", "refresh": "刷新",
      "lang.other": "English", "nav.verify": "核验报告", "nav.repair": "信用修复",
      "nav.federation": "联邦运行",
      "verify.title": "核验信用报告",
      "verify.intro": "拖入或选择一份其他地区签发的信用报告（XML、JWS 或 JSON，任何格式），网关核验其真实性、在本地的认可情况和记录的现状。",
      "verify.scenario": "用途（场景）", "verify.scenario.none": "不指定用途",
      "verify.drop": "将报告文件拖到这里，或", "verify.choose": "选择文件",
      "verify.translate": "下载本地格式译本", "verify.print": "打印核验回执",
      "verify.checks": "逐项检查", "verify.report": "报告内容（标准格式）",
      "verify.working": "正在核验 {0}…",
      "v.auth.pass": "真实：报告由 {0} 签发，签名有效，内容未被改动。",
      "v.auth.fail": "不真实：{0}",
      "v.auth.indet": "无法确认真实性：{0}",
      "v.rec.yes": "在本地认可：可用于“{0}”，依据互认协议“{1}”。",
      "v.rec.no": "在本地不予认可：{0}",
      "v.rec.none": "未指定用途，未判断是否认可。",
      "v.cur.none": "记录现状：截至 {0}，自签发以来没有记录发生变化。",
      "v.cur.some": "记录现状：截至 {0}，自签发以来有 {1} 条记录发生变化：",
      "v.changed": "{0} 的记录 {1}：{2}（{3}）",
      "v.meta": "签发地区 {0} · 签名者 {1} · 算法 {2} · 核验用时 {3} 毫秒",
      "sub.HASH_FAILURE": "报告内容在签名后被改动过（摘要不符）。",
      "sub.SIG_CRYPTO_FAILURE": "签名值与报告内容不符（签名被改动或伪造）。",
      "sub.FORMAT_FAILURE": "文件不是带签名的信用报告，或格式无法识别。",
      "sub.REVOKED": "签名证书已被吊销。",
      "sub.EXPIRED": "签名证书已过期。",
      "sub.OUT_OF_BOUNDS_NO_POE": "签名证书在签发时已过期或尚未生效。",
      "sub.NO_CERTIFICATE_CHAIN_FOUND": "签名证书不属于联邦内任何地区的信任锚。",
      "sub.CHAIN_CONSTRAINTS_FAILURE": "签名证书不是签发地区授权的报告签名证书。",
      "sub.CRYPTO_CONSTRAINTS_FAILURE": "签名算法或密钥强度不符合要求。",
      "sub.TRY_LATER": "暂时无法完成核验，请稍后再试。",
      "sub.other": "核验未通过（{0}）。",
      "check.PASSED": "通过", "check.FAILED": "未通过", "check.INDETERMINATE": "无法确定",
      "status.published": "公示中", "status.repaired": "已修复", "status.expired": "已届满",
      "rep.report_id": "报告编号", "rep.kind": "报告类型", "rep.issuer": "签发机构",
      "rep.issued_at": "签发时间", "rep.valid_until": "有效期至", "rep.subject": "主体名称",
      "rep.uscc": "统一社会信用代码", "rep.subject_type": "主体类型", "rep.period": "覆盖期间",
      "rep.records": "记录", "rep.none": "报告未列出任何记录。",
      "rec.record_id": "记录编号", "rec.kind": "类型", "rec.decision_no": "文书号",
      "rec.authority": "决定机关", "rec.decided_on": "决定日期", "rec.domain": "领域",
      "rec.severity": "程度", "rec.content": "内容", "rec.status": "状态",
      "receipt.title": "核验回执", "receipt.answer": "核验结论", "receipt.recognition": "认可情况",
      "receipt.sha256": "报告文件 SHA-256", "receipt.time": "核验时间", "receipt.node": "核验节点",
      "receipt.client": "核验人证书", "receipt.file": "文件", "receipt.report_id": "报告编号",
      "translate.done": "已下载 {0}", "translate.failed": "无法生成译本：{0}",
      "repair.title": "信用修复", "repair.filter": "状态", "repair.any": "全部",
      "repair.col.id": "申请编号", "repair.col.subject": "主体", "repair.col.record": "记录",
      "repair.col.status": "状态", "repair.col.filed": "提交时间", "repair.col.accept_by": "受理期限",
      "repair.col.decide_by": "决定期限", "repair.col.overall_by": "总期限",
      "repair.count": "共 {0} 件，逾期 {1} 件", "repair.overdue": "已逾期",
      "repair.history": "办理经过", "repair.decide": "作出决定（记录所在地）",
      "repair.decide.submit": "提交决定", "repair.decide.done": "决定已记录（事件 {0}），将通知 {1} 个节点。",
      "repair.decide.by": "决定机关", "repair.decide.reason": "理由", "repair.decide.extension": "延长办理期限",
      "repair.decide.kind": "决定",
      "repair.file.title": "提交修复申请", "repair.file.submit": "提交申请",
      "repair.file.done": "申请已提交：{0}，受理期限 {1}。",
      "repair.file.invalid": "请更正标出的字段。",
      "st.open": "未办结", "st.submitted": "已提交", "st.delivered": "已送达", "st.accepted": "已受理",
      "st.refused": "不予受理", "st.repaired": "已修复", "st.rejected": "不予修复", "st.revoked": "已撤销",
      "f.subject_uscc": "统一社会信用代码", "f.origin_node": "记录所在地区（行政区划代码）",
      "f.record_id": "记录编号", "f.domain": "领域", "f.kind": "记录类型",
      "f.commitment": "信用承诺书（文件，计算 SHA-256）", "f.applicant_name": "申请人名称",
      "f.applicant_contact": "联系方式",
      "e.required": "{0}：必填。",
      "e.uscc": "统一社会信用代码：应为 18 位且校验位正确（GB 32100）。",
      "e.node": "记录所在地区：应为 6 位行政区划代码。",
      "e.sha256": "信用承诺书 SHA-256：应为 64 位十六进制数字（可选择文件自动计算）。",
      "e.server": "服务器拒绝：{0}",
      "fed.title": "联邦运行状态", "fed.auto": "每 3 秒自动刷新", "fed.updated": "更新于 {0}",
      "fed.peers": "对端节点", "fed.dead": "死信", "fed.anchors": "信任锚及到期时间",
      "fed.errors": "最近的警告和错误", "fed.noerrors": "没有警告或错误。",
      "fed.nodead": "没有死信。",
      "fed.col.node": "节点", "fed.col.last_contact": "最近联系", "fed.col.lag": "待投递",
      "fed.col.retries": "重试次数", "fed.col.dead": "死信", "fed.col.subject": "证书主体",
      "fed.col.not_after": "到期", "fed.col.days_left": "剩余天数",
      "fed.redrive": "重新投递", "fed.redriven": "已将 {0} 条死信重新放入 {1} 的投递队列。",
      "fed.ready": "就绪", "fed.notready": "未就绪", "fed.redis": "Redis", "fed.trust": "信任版本",
      "fed.cache": "核验缓存命中率", "fed.uptime": "运行时间", "fed.never": "从未",
      "fed.deadof": "{0} 的死信（{1} 条）", "fed.reason": "原因", "fed.item": "内容",
      "none.title": "没有可用的功能", "none.text": "此客户端证书的角色没有可使用的页面。",
      "footer": "crgw · 跨地区信用报告互认网关",
      "forbidden": "此证书无权执行该操作（403）。", "neterr": "无法连接网关：{0}",
    },
    en: {
      "brand": "Credit report gateway", "loading": "Loading…", "refresh": "Refresh",
      "lang.other": "中文", "nav.verify": "Verify", "nav.repair": "Repair",
      "nav.federation": "Federation",
      "verify.title": "Verify a credit report",
      "verify.intro": "Drop or choose a credit report issued in another region (XML, JWS or JSON, any dialect): the gateway checks that it is authentic, whether it is recognised here, and whether its records are still current.",
      "verify.scenario": "Use (scenario)", "verify.scenario.none": "No particular use",
      "verify.drop": "Drop the report file here, or", "verify.choose": "Choose a file",
      "verify.translate": "Download in this region's format", "verify.print": "Print the receipt",
      "verify.checks": "Checks", "verify.report": "The report (canonical form)",
      "verify.working": "Verifying {0}…",
      "v.auth.pass": "Authentic: issued by {0}, the signature is valid and the content unchanged.",
      "v.auth.fail": "Not authentic: {0}",
      "v.auth.indet": "Authenticity could not be established: {0}",
      "v.rec.yes": "Recognised here for \"{0}\" under the agreement \"{1}\".",
      "v.rec.no": "Not recognised here: {0}",
      "v.rec.none": "No use given: recognition not assessed.",
      "v.cur.none": "Current as of {0}: no record has changed since issue.",
      "v.cur.some": "As of {0}, {1} record(s) changed since issue:",
      "v.changed": "record {1} of {0}: {2} ({3})",
      "v.meta": "Issuing region {0} · signer {1} · algorithm {2} · verified in {3} ms",
      "sub.HASH_FAILURE": "the content was changed after signing (digest mismatch).",
      "sub.SIG_CRYPTO_FAILURE": "the signature does not match the content (altered or forged).",
      "sub.FORMAT_FAILURE": "the file is not a signed credit report, or its format is unknown.",
      "sub.REVOKED": "the signing certificate has been revoked.",
      "sub.EXPIRED": "the signing certificate has expired.",
      "sub.OUT_OF_BOUNDS_NO_POE": "the signing certificate was not valid when the report was signed.",
      "sub.NO_CERTIFICATE_CHAIN_FOUND": "the signer does not chain to any region's trust anchor.",
      "sub.CHAIN_CONSTRAINTS_FAILURE": "the signer is not the issuing region's report signer.",
      "sub.CRYPTO_CONSTRAINTS_FAILURE": "the algorithm or key strength is not allowed.",
      "sub.TRY_LATER": "the verification could not complete now; try again later.",
      "sub.other": "verification failed ({0}).",
      "check.PASSED": "passed", "check.FAILED": "failed", "check.INDETERMINATE": "indeterminate",
      "status.published": "published", "status.repaired": "repaired", "status.expired": "expired",
      "rep.report_id": "Report id", "rep.kind": "Report kind", "rep.issuer": "Issuer",
      "rep.issued_at": "Issued at", "rep.valid_until": "Valid until", "rep.subject": "Subject",
      "rep.uscc": "USCC", "rep.subject_type": "Subject type", "rep.period": "Period covered",
      "rep.records": "Records", "rep.none": "The report lists no record.",
      "rec.record_id": "Record id", "rec.kind": "Kind", "rec.decision_no": "Decision no.",
      "rec.authority": "Authority", "rec.decided_on": "Decided on", "rec.domain": "Domain",
      "rec.severity": "Severity", "rec.content": "Content", "rec.status": "Status",
      "receipt.title": "Verification receipt", "receipt.answer": "Answer",
      "receipt.recognition": "Recognition", "receipt.sha256": "Report file SHA-256",
      "receipt.time": "Verified at", "receipt.node": "Verifying node",
      "receipt.client": "Verifier certificate", "receipt.file": "File", "receipt.report_id": "Report id",
      "translate.done": "Downloaded {0}", "translate.failed": "No translation: {0}",
      "repair.title": "Credit repair", "repair.filter": "Status", "repair.any": "All",
      "repair.col.id": "Application", "repair.col.subject": "Subject", "repair.col.record": "Record",
      "repair.col.status": "Status", "repair.col.filed": "Filed", "repair.col.accept_by": "Accept by",
      "repair.col.decide_by": "Decide by", "repair.col.overall_by": "Overall by",
      "repair.count": "{0} application(s), {1} overdue", "repair.overdue": "overdue",
      "repair.history": "History", "repair.decide": "Decide (at the record's origin)",
      "repair.decide.submit": "Record the decision",
      "repair.decide.done": "Decision recorded (event {0}), {1} node(s) will be told.",
      "repair.decide.by": "Decided by", "repair.decide.reason": "Reason",
      "repair.decide.extension": "Extend the deadline", "repair.decide.kind": "Decision",
      "repair.file.title": "File a repair application", "repair.file.submit": "File the application",
      "repair.file.done": "Application filed: {0}, to be accepted by {1}.",
      "repair.file.invalid": "Please correct the marked fields.",
      "st.open": "open", "st.submitted": "submitted", "st.delivered": "delivered",
      "st.accepted": "accepted", "st.refused": "refused", "st.repaired": "repaired",
      "st.rejected": "rejected", "st.revoked": "revoked",
      "f.subject_uscc": "Unified social credit code (USCC)",
      "f.origin_node": "Record's region (division code)", "f.record_id": "Record id",
      "f.domain": "Domain", "f.kind": "Record kind",
      "f.commitment": "Credit commitment (file, for its SHA-256)", "f.applicant_name": "Applicant",
      "f.applicant_contact": "Contact",
      "e.required": "{0}: required.",
      "e.uscc": "USCC: 18 characters with a correct check character (GB 32100).",
      "e.node": "Record's region: a 6-digit division code.",
      "e.sha256": "Commitment SHA-256: 64 hex digits (choose the file to compute it).",
      "e.server": "Refused by the server: {0}",
      "fed.title": "Federation", "fed.auto": "refreshes every 3 s", "fed.updated": "updated {0}",
      "fed.peers": "Peers", "fed.dead": "Dead letters", "fed.anchors": "Trust anchors and expiry",
      "fed.errors": "Recent warnings and errors", "fed.noerrors": "No warning or error.",
      "fed.nodead": "No dead letter.",
      "fed.col.node": "Node", "fed.col.last_contact": "Last contact", "fed.col.lag": "Outbox lag",
      "fed.col.retries": "Retries", "fed.col.dead": "Dead letters", "fed.col.subject": "Subject",
      "fed.col.not_after": "Expires", "fed.col.days_left": "Days left",
      "fed.redrive": "Redrive", "fed.redriven": "{0} dead letter(s) put back in {1}'s outbox.",
      "fed.ready": "ready", "fed.notready": "not ready", "fed.redis": "Redis",
      "fed.trust": "Trust version", "fed.cache": "Verdict cache hit rate", "fed.uptime": "Uptime",
      "fed.never": "never", "fed.deadof": "Dead letters for {0} ({1})", "fed.reason": "Reason",
      "fed.item": "Item",
      "none.title": "Nothing to show", "none.text": "The roles of this client certificate open no page.",
      "footer": "crgw · cross-region credit-report gateway",
      "forbidden": "This certificate may not do that (403).", "neterr": "Cannot reach the gateway: {0}",
    },
  };

  let lang = "zh";
  let me = null;
  let rerender = []; /* functions that redraw dynamic content in the current language */

  function t(key) {
    let s = (T[lang] && T[lang][key]) || T.zh[key] || key;
    for (let i = 1; i < arguments.length; i++) s = s.split("{" + (i - 1) + "}").join(String(arguments[i]));
    return s;
  }
  /*
   * A message that follows the language: key and arguments are kept on the element and drawn
   * again by applyLang; an argument {k: key} is itself translated at each drawing.
   */
  function put(e, cls, key) {
    const args = Array.prototype.slice.call(arguments, 3);
    if (cls !== null) e.className = cls;
    e.setAttribute("data-msg", JSON.stringify([key].concat(args)));
    drawMsg(e);
  }
  function drawMsg(e) {
    const a = JSON.parse(e.getAttribute("data-msg"));
    e.textContent = t.apply(null, [a[0]].concat(a.slice(1).map(function (x) { return x && x.k ? t(x.k) : x; })));
  }
  function unput(e) { e.removeAttribute("data-msg"); e.textContent = ""; }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function el(tag, attrs) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function roles() { return me ? me.roles : []; }
  function has(list) { return list.some(function (r) { return roles().indexOf(r) >= 0; }); }

  /* fetch against the serving crgw only (relative URLs); answers {status, json, text} */
  async function api(method, path, body, headers) {
    const opt = {method: method, headers: headers || {}, credentials: "same-origin", cache: "no-store"};
    if (body !== undefined) opt.body = body;
    const r = await fetch(path, opt);
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* not JSON (metrics) */ }
    return {status: r.status, json: json, text: text};
  }
  function problemText(res) {
    if (res.status === 403) return t("forbidden");
    if (res.json && res.json.detail) return res.json.detail;
    return "HTTP " + res.status;
  }
  async function sha256hex(buf) {
    const d = await crypto.subtle.digest("SHA-256", buf);
    return Array.from(new Uint8Array(d)).map(function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  function beijingNow() {
    const d = new Date(Date.now() + 8 * 3600 * 1000);
    return d.toISOString().slice(0, 19) + "+08:00";
  }
  function localTime(s) {
    if (!s) return "—";
    const d = new Date(s);
    if (isNaN(d)) return s;
    return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {timeZone: "Asia/Shanghai", hour12: false});
  }

  /* ---------- language ---------- */
  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = "crgw · " + t("brand");
    document.querySelectorAll("[data-i18n]").forEach(function (e) { e.textContent = t(e.getAttribute("data-i18n")); });
    document.querySelectorAll("[data-msg]").forEach(drawMsg);
    $("#lang-toggle").textContent = t("lang.other");
    buildNav();
    fillSelects();
    rerender.forEach(function (f) { f(); });
  }

  /* ---------- navigation ---------- */
  function allowedPages() { return PAGES.filter(function (p) { return has(p.roles); }); }
  function buildNav() {
    const nav = clear($("#nav"));
    allowedPages().forEach(function (p) {
      nav.appendChild(el("a", {href: "#" + p.id, id: "nav-" + p.id, text: t("nav." + p.id)}));
    });
  }
  function show() {
    const pages = allowedPages();
    let want = location.hash.replace("#", "");
    if (!pages.some(function (p) { return p.id === want; })) want = pages.length ? pages[0].id : "none";
    document.querySelectorAll(".page").forEach(function (s) { s.hidden = s.id !== "page-" + want; });
    document.querySelectorAll("#nav a").forEach(function (a) { a.classList.toggle("current", a.id === "nav-" + want); });
    if (want === "repair") repairLoad();
    fedActive(want === "federation");
  }

  function fillSelects() {
    const sc = $("#verify-scenario");
    if (sc) {
      const v = sc.value || "tender";
      clear(sc);
      sc.appendChild(el("option", {value: "none", text: t("verify.scenario.none")}));
      SCENARIOS.forEach(function (s) { sc.appendChild(el("option", {value: s, text: s})); });
      sc.value = v;
    }
    const st = $("#repair-status");
    if (st) {
      const v = st.value;
      clear(st);
      st.appendChild(el("option", {value: "", text: t("repair.any")}));
      STATUSES.forEach(function (s) { st.appendChild(el("option", {value: s, text: t("st." + s)})); });
      st.value = v;
    }
    [["#f-domain", DOMAINS], ["#f-kind", KINDS]].forEach(function (p) {
      const s = $(p[0]);
      if (!s) return;
      const v = s.value;
      clear(s);
      p[1].forEach(function (x) { s.appendChild(el("option", {value: x, text: x})); });
      if (v) s.value = v;
    });
  }

  /* ---------- verify ---------- */
  let last = null; /* {file, bytes, sha, verdict, ms, at} */

  function authWords(v) {
    const sub = v.subindication;
    const why = sub ? (T[lang]["sub." + sub] ? t("sub." + sub) : t("sub.other", sub)) : "";
    if (v.indication === "TOTAL_PASSED") return {cls: "ok", text: t("v.auth.pass", v.issuer_node || "?")};
    if (v.indication === "TOTAL_FAILED") return {cls: "bad", text: t("v.auth.fail", why)};
    return {cls: "warn", text: t("v.auth.indet", why)};
  }
  function recWords(v) {
    const r = v.recognition;
    if (!r || !r.scenario) return {cls: "muted", text: t("v.rec.none")};
    if (r.recognised) return {cls: "ok", text: t("v.rec.yes", r.scenario, r.agreement)};
    return {cls: "bad", text: t("v.rec.no", (r.reasons || []).join("; "))};
  }

  function renderVerdict() {
    if (!last) return;
    const v = last.verdict;
    const box = $("#verdict");
    box.setAttribute("data-indication", v.indication);
    box.setAttribute("data-recognised", v.recognition && v.recognition.scenario ? String(!!v.recognition.recognised) : "none");
    box.setAttribute("data-ms", String(Math.round(last.ms)));
    const a = authWords(v), r = recWords(v);
    const pa = $("#verdict-authentic"), pr = $("#verdict-recognised"), pc = $("#verdict-current");
    pa.textContent = a.text; pa.className = "line " + a.cls;
    pr.textContent = r.text; pr.className = "line " + r.cls;
    const cur = v.current || {changed_records: []};
    const ch = cur.changed_records || [];
    pc.textContent = ch.length ? t("v.cur.some", localTime(cur.as_of), ch.length) : t("v.cur.none", localTime(cur.as_of));
    pc.className = "line " + (ch.length ? "warn" : "ok");
    const ul = clear($("#verdict-changed"));
    ch.forEach(function (c) {
      ul.appendChild(el("li", {text: t("v.changed", c.origin_node, c.record_id, t("status." + c.status) || c.status, localTime(c.decided_at))}));
    });
    const s = v.signer || {};
    $("#verdict-meta").textContent = t("v.meta", v.issuer_node || "?", s.subject || "?", s.algorithm || "?", Math.round(last.ms));
    renderChecks(v.checks || []);
    renderReport(v.report, ch);
    renderReceipt();
    /* a translation is offered of an authentic report only (it is unsigned, and says so) */
    $("#verify-translate").disabled = !(me.node && me.node.dialect) || v.indication !== "TOTAL_PASSED";
  }

  function renderChecks(checks) {
    const box = clear($("#verify-checks"));
    checks.forEach(function (c) {
      const d = el("details", {class: "check " + (c.result === "PASSED" ? "ok" : "bad"), "data-check": c.check},
        el("summary", {}, el("span", {class: "badge", text: t("check." + c.result)}), " " + c.check),
        el("p", {text: c.detail || ""}),
        c.subindication ? el("p", {class: "muted", text: c.subindication}) : null);
      box.appendChild(d);
    });
  }

  function kv(dl, k, v) { dl.appendChild(el("dt", {text: k})); dl.appendChild(el("dd", {text: v === undefined || v === null ? "—" : String(v)})); }

  function renderReport(rep, changed) {
    const box = clear($("#verify-report"));
    if (!rep) return;
    const dl = el("dl", {class: "kv"});
    kv(dl, t("rep.report_id"), rep.report_id);
    kv(dl, t("rep.kind"), rep.kind);
    kv(dl, t("rep.issuer"), rep.issuer ? rep.issuer.authority + " (" + rep.issuer.node + ")" : null);
    kv(dl, t("rep.issued_at"), localTime(rep.issued_at));
    kv(dl, t("rep.valid_until"), rep.valid_until);
    if (rep.subject) {
      kv(dl, t("rep.subject"), rep.subject.name);
      kv(dl, t("rep.uscc"), rep.subject.uscc);
      kv(dl, t("rep.subject_type"), rep.subject.type);
    }
    if (rep.covers) kv(dl, t("rep.period"), rep.covers.period_from + " – " + rep.covers.period_to);
    box.appendChild(dl);
    const recs = rep.records || [];
    if (!recs.length) { box.appendChild(el("p", {class: "muted", text: t("rep.none")})); return; }
    const cols = ["record_id", "kind", "decision_no", "authority", "decided_on", "domain", "severity", "content", "status"];
    const table = el("table", {class: "grid", id: "report-records"});
    const hr = el("tr");
    cols.forEach(function (c) { hr.appendChild(el("th", {text: t("rec." + c)})); });
    table.appendChild(el("thead", {}, hr));
    const tb = el("tbody");
    recs.forEach(function (r) {
      const tr = el("tr");
      const chg = (changed || []).find(function (c) { return c.record_id === r.record_id; });
      cols.forEach(function (c) {
        let v = r[c];
        if (c === "status") v = chg ? t("status." + chg.status) + " ←" + t("status." + r.status) : t("status." + r.status);
        tr.appendChild(el("td", {text: v === undefined ? "—" : String(v)}));
      });
      if (chg) tr.className = "changed";
      tb.appendChild(tr);
    });
    table.appendChild(tb);
    box.appendChild(table);
  }

  function renderReceipt() {
    const v = last.verdict;
    const dl = clear($("#receipt-fields"));
    const sub = v.subindication ? "/" + v.subindication : "";
    kv(dl, t("receipt.answer"), authWords(v).text + " [" + v.indication + sub + "]");
    kv(dl, t("receipt.recognition"), recWords(v).text);
    kv(dl, t("receipt.report_id"), v.report ? v.report.report_id : null);
    kv(dl, t("receipt.file"), last.file);
    const sh = el("dd", {id: "receipt-sha256", class: "mono", text: last.sha});
    dl.appendChild(el("dt", {text: t("receipt.sha256")})); dl.appendChild(sh);
    kv(dl, t("receipt.time"), (v.current && v.current.as_of) || last.at);
    kv(dl, t("receipt.node"), me.node.code + " " + me.node.name);
    kv(dl, t("receipt.client"), me.client);
  }

  /* t0: when the file was given (the change or drop event), so that the reading counts too */
  async function verifyBytes(name, buf, t0) {
    $("#verify-error").hidden = true;
    $("#verdict").setAttribute("data-state", "working");
    put($("#verify-action-msg"), null, "verify.working", name);
    const sc = $("#verify-scenario").value;
    const q = sc && sc !== "none" ? "?scenario=" + encodeURIComponent(sc) : "";
    try {
      const [res, sha] = await Promise.all([
        api("POST", "/v1/reports/verify" + q, buf, {"content-type": "application/octet-stream"}),
        sha256hex(buf)]);
      if (res.status !== 200 || !res.json) {
        $("#verify-error").textContent = problemText(res);
        $("#verify-error").hidden = false;
        $("#verify-result").hidden = true;
        unput($("#verify-action-msg"));
        return;
      }
      last = {file: name, bytes: buf, sha: sha, verdict: res.json, ms: performance.now() - t0, at: beijingNow()};
      $("#verify-result").hidden = false;
      unput($("#verify-action-msg"));
      renderVerdict();
      $("#verdict").setAttribute("data-state", "done");
    } catch (e) {
      $("#verify-error").textContent = t("neterr", e.message);
      $("#verify-error").hidden = false;
    }
  }

  function verifyFile(f) {
    if (!f) return;
    const t0 = performance.now();
    f.arrayBuffer().then(function (buf) { verifyBytes(f.name, buf, t0); });
  }

  async function downloadTranslation() {
    if (!last) return;
    const to = me.node.dialect;
    const res = await api("POST", "/v1/reports/translate?from=auto&to=" + encodeURIComponent(to), last.bytes,
      {"content-type": "application/octet-stream"});
    const msg = $("#verify-action-msg");
    if (res.status !== 200 || !res.json || typeof res.json.document !== "string") {
      put(msg, null, "translate.failed", problemText(res));
      return;
    }
    const json = /json/.test(to);
    const name = ((last.verdict.report && last.verdict.report.report_id) || "report") + "." + to + (json ? ".json" : ".xml");
    const url = URL.createObjectURL(new Blob([res.json.document], {type: json ? "application/json" : "application/xml"}));
    const a = el("a", {href: url, download: name, id: "translation-link"});
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    put(msg, null, "translate.done", name);
    msg.setAttribute("data-file", name);
  }

  function initVerify() {
    const input = $("#verify-file"), drop = $("#verify-drop");
    input.addEventListener("change", function () { verifyFile(input.files[0]); input.value = ""; });
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer.files.length) verifyFile(e.dataTransfer.files[0]);
    });
    $("#verify-translate").addEventListener("click", downloadTranslation);
    $("#verify-print").addEventListener("click", function () { window.print(); });
    rerender.push(renderVerdict);
  }

  /* ---------- repair ---------- */
  const USCC_SET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  const W32100 = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  const W11714 = [3, 7, 9, 10, 5, 8, 4, 2];
  function usccValid(s) { /* GB 32100-2015 and the organisation code's GB 11714 check */
    s = String(s || "").toUpperCase();
    if (s.length !== 18) return false;
    let sum = 0;
    for (let i = 0; i < 18; i++) {
      const v = USCC_SET.indexOf(s[i]);
      if (v < 0) return false;
      if (i < 17) sum += v * W32100[i];
    }
    let osum = 0;
    for (let i = 0; i < 8; i++) {
      const c = s[8 + i];
      osum += (c >= "0" && c <= "9" ? c.charCodeAt(0) - 48 : c.charCodeAt(0) - 55) * W11714[i];
    }
    const oc = 11 - osum % 11;
    if (s[16] !== (oc === 10 ? "X" : oc === 11 ? "0" : String(oc))) return false;
    return s[17] === USCC_SET[(31 - sum % 31) % 31];
  }

  let apps = [];
  let selected = null;
  let decisionMsg = null; /* the answer to the last decision, kept across redraws of the list */

  async function repairLoad() {
    const st = $("#repair-status").value;
    const res = await api("GET", "/v1/repair/applications?limit=100" + (st ? "&status=" + st : ""));
    const msg = $("#repair-list-msg");
    if (res.status !== 200) { put(msg, "error", "e.server", problemText(res)); return; }
    apps = res.json.applications || [];
    renderApps();
  }
  function renderApps() {
    const tb = clear($("#repair-list tbody"));
    let overdue = 0;
    apps.forEach(function (a) {
      const d = a.deadlines || {};
      if (d.overdue) overdue++;
      const rec = a.record || {};
      const tr = el("tr", {class: (d.overdue ? "overdue " : "") + (selected === a.application_id ? "selected" : ""), "data-id": a.application_id, tabindex: "0"},
        el("td", {class: "mono", text: a.application_id}),
        el("td", {text: (a.applicant && a.applicant.name ? a.applicant.name + " " : "") + (a.subject_uscc || "")}),
        el("td", {text: (rec.origin_node || "") + " · " + (rec.record_id || "") + " · " + (rec.domain || "")}),
        el("td", {class: "status", text: t("st." + a.status) + (d.overdue ? " · " + t("repair.overdue") : "")}),
        el("td", {text: localTime(a.filed_at)}),
        el("td", {text: d.accept_by || "—"}), el("td", {text: d.decide_by || "—"}), el("td", {text: d.overall_by || "—"}));
      tr.addEventListener("click", function () { selected = a.application_id; renderApps(); renderDetail(); });
      tb.appendChild(tr);
    });
    const msg = $("#repair-list-msg");
    put(msg, "muted", "repair.count", apps.length, overdue);
    renderDetail();
  }
  function renderDetail() {
    const box = $("#repair-detail");
    const a = apps.find(function (x) { return x.application_id === selected; });
    clear(box);
    if (!a) { box.hidden = true; return; }
    box.hidden = false;
    box.appendChild(el("h2", {text: t("repair.history") + " · " + a.application_id}));
    const ol = el("ol", {class: "history"});
    (a.history || []).forEach(function (h) {
      ol.appendChild(el("li", {text: localTime(h.at) + " · " + t("st." + h.status) + " · " + (h.node || "")}));
    });
    box.appendChild(ol);
    const rec = a.record || {};
    if (has(["platform"]) && rec.origin_node === me.node.code) box.appendChild(decisionForm(a));
  }
  function decisionForm(a) {
    const sel = el("select", {id: "d-decision"});
    DECISIONS.forEach(function (d) { sel.appendChild(el("option", {value: d, text: t("st." + d)})); });
    const by = el("input", {id: "d-decided_by", value: ""});
    const reason = el("input", {id: "d-reason"});
    const ext = el("input", {id: "d-extension", type: "checkbox"});
    const kept = decisionMsg && decisionMsg.id === a.application_id ? decisionMsg : null;
    const msg = el("p", {id: "d-msg", class: "muted"});
    function say(cls) {
      decisionMsg = {id: a.application_id, args: Array.prototype.slice.call(arguments)};
      put.apply(null, [msg].concat(decisionMsg.args));
    }
    if (kept) put.apply(null, [msg].concat(kept.args));
    const form = el("form", {id: "decision-form", novalidate: ""},
      el("h3", {text: t("repair.decide")}),
      el("div", {class: "field"}, el("label", {for: "d-decision", text: t("repair.decide.kind")}), sel),
      el("div", {class: "field"}, el("label", {for: "d-decided_by", text: t("repair.decide.by")}), by),
      el("div", {class: "field"}, el("label", {for: "d-reason", text: t("repair.decide.reason")}), reason),
      el("div", {class: "field inline"}, ext, el("label", {for: "d-extension", text: t("repair.decide.extension")})),
      el("button", {type: "submit", text: t("repair.decide.submit")}), msg);
    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      if (!by.value.trim()) { say("error", "e.required", {k: "repair.decide.by"}); return; }
      const rec = a.record;
      const body = {record: {origin_node: rec.origin_node, record_id: rec.record_id, domain: rec.domain},
        subject_uscc: a.subject_uscc, application_id: a.application_id, decision: sel.value,
        decided_by: by.value.trim(), decided_at: beijingNow(), extension: ext.checked};
      if (reason.value.trim()) body.reason = reason.value.trim();
      const res = await api("POST", "/v1/repair/decisions", JSON.stringify(body), {"content-type": "application/json"});
      if (res.status === 201) {
        say("ok", "repair.decide.done", res.json.event_id, (res.json.destinations || []).length);
        repairLoad();
      } else {
        say("error", "e.server", problemText(res));
      }
    });
    return form;
  }

  /* fieldError(name, [key, args...]) shows the message at the field; fieldError(name) clears it */
  function fieldError(name, msg) {
    const e = document.querySelector('.field-error[data-for="' + name + '"]');
    if (e && msg) put.apply(null, [e, null].concat(msg));
    else if (e) unput(e);
    const input = document.querySelector('[name="' + name + '"]');
    if (input) input.setAttribute("aria-invalid", msg ? "true" : "false");
  }
  function formValue(name) { const i = document.querySelector('#repair-form [name="' + name + '"]'); return i ? i.value.trim() : ""; }

  function validateFiling() {
    const errs = {};
    document.querySelectorAll("#repair-form .field-error").forEach(function (e) { fieldError(e.getAttribute("data-for")); });
    const uscc = formValue("subject_uscc");
    if (!uscc) errs.subject_uscc = ["e.required", {k: "f.subject_uscc"}];
    else if (!usccValid(uscc)) errs.subject_uscc = ["e.uscc"];
    if (!/^[0-9]{6}$/.test(formValue("record.origin_node"))) errs["record.origin_node"] = ["e.node"];
    if (!formValue("record.record_id")) errs["record.record_id"] = ["e.required", {k: "f.record_id"}];
    if (!/^[0-9a-fA-F]{64}$/.test(formValue("commitment_sha256"))) errs.commitment_sha256 = ["e.sha256"];
    if (!formValue("applicant.name")) errs["applicant.name"] = ["e.required", {k: "f.applicant_name"}];
    Object.keys(errs).forEach(function (k) { fieldError(k, errs[k]); });
    return Object.keys(errs).length === 0;
  }

  async function submitFiling(e) {
    e.preventDefault();
    const msg = $("#repair-form-msg");
    msg.removeAttribute("data-application");
    if (!validateFiling()) { put(msg, "error", "repair.file.invalid"); return; }
    const body = {subject_uscc: formValue("subject_uscc").toUpperCase(),
      record: {origin_node: formValue("record.origin_node"), record_id: formValue("record.record_id"),
        domain: formValue("record.domain"), kind: formValue("record.kind")},
      commitment_sha256: formValue("commitment_sha256").toLowerCase(),
      applicant: {name: formValue("applicant.name")}, materials: []};
    if (formValue("applicant.contact")) body.applicant.contact = formValue("applicant.contact");
    const res = await api("POST", "/v1/repair/applications", JSON.stringify(body), {"content-type": "application/json"});
    if (res.status === 201 || res.status === 200) {
      put(msg, "ok", "repair.file.done", res.json.application_id, res.json.deadlines ? res.json.deadlines.accept_by : "—");
      msg.setAttribute("data-application", res.json.application_id);
      selected = res.json.application_id;
      repairLoad();
      return;
    }
    const field = res.json && res.json.field;
    if (field && document.querySelector('.field-error[data-for="' + field + '"]')) fieldError(field, ["e.server", problemText(res)]);
    put(msg, "error", "e.server", problemText(res));
  }

  function initRepair() {
    $("#repair-refresh").addEventListener("click", repairLoad);
    $("#repair-status").addEventListener("change", repairLoad);
    const form = $("#repair-form");
    if (form) {
      form.addEventListener("submit", submitFiling);
      $("#f-commitment").addEventListener("change", async function () {
        const f = this.files[0];
        if (f) $("#f-commitment_sha256").value = await sha256hex(await f.arrayBuffer());
      });
    }
    rerender.push(function () { if (apps.length) renderApps(); });
  }

  /* ---------- federation ---------- */
  let fedTimer = null;
  let fed = null; /* {peers, status, ready, metrics, dead: {node: [...]}, at} */
  rerender.push(function () { renderFed(); }); /* a language switch redraws it at once */

  function fedActive(on) {
    if (on && !fedTimer) { fedLoad(); fedTimer = setInterval(fedLoad, 3000); }
    if (!on && fedTimer) { clearInterval(fedTimer); fedTimer = null; }
  }
  function cacheRate(metrics) {
    let hit = 0, total = 0;
    (metrics || "").split("\n").forEach(function (l) {
      const m = /^crgw_cache_requests_total\{result="([a-z_]+)"\} ([0-9.e+]+)$/.exec(l);
      if (!m) return;
      const n = Number(m[2]);
      total += n;
      if (m[1] === "hit") hit += n;
    });
    return total ? Math.round(1000 * hit / total) / 10 + "% (" + hit + "/" + total + ")" : "—";
  }
  async function fedLoad() {
    const [peers, status, ready, metrics] = await Promise.all([
      api("GET", "/v1/federation/peers"), api("GET", "/v1/federation/status"),
      api("GET", "/readyz"), api("GET", "/metrics")]);
    const f = {peers: peers.json && peers.json.peers || [], status: status.json || {}, ready: ready.json || {},
      readyStatus: ready.status, metrics: metrics.text, dead: {}, at: new Date(), error: null};
    if (peers.status !== 200) f.error = problemText(peers);
    const withDead = f.peers.filter(function (p) { return p.dead_letters > 0; });
    const lists = await Promise.all(withDead.map(function (p) { return api("GET", "/v1/federation/peers/" + p.node + "/dead-letters?limit=20"); }));
    withDead.forEach(function (p, i) { f.dead[p.node] = lists[i].json ? lists[i].json.dead_letters : []; });
    fed = f;
    renderFed();
  }
  function card(label, value, cls, id) {
    return el("div", {class: "card " + (cls || ""), id: id}, el("div", {class: "label", text: label}), el("div", {class: "value", text: value}));
  }
  function renderFed() {
    if (!fed) return;
    $("#fed-updated").textContent = t("fed.updated", fed.at.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", {hour12: false}));
    const s = fed.status;
    const sum = clear($("#fed-summary"));
    const ready = fed.readyStatus === 200;
    const reasons = ready ? "" : " — " + (fed.ready.reasons || [fed.ready.detail || ""]).join("; ");
    sum.appendChild(card(t("fed.ready").replace(/^./, function (c) { return c.toUpperCase(); }), (ready ? t("fed.ready") : t("fed.notready")) + reasons, ready ? "ok" : "bad", "fed-ready"));
    sum.appendChild(card(t("fed.redis"), s.redis || fed.ready.redis || "?", (s.redis || fed.ready.redis) === "up" ? "ok" : "bad"));
    sum.appendChild(card(t("fed.trust"), s.trust_version ? s.trust_version.slice(0, 16) + "…" : "—", "", "fed-trust"));
    sum.appendChild(card(t("fed.cache"), cacheRate(fed.metrics), "", "fed-cache"));
    sum.appendChild(card(t("fed.uptime"), s.uptime_s !== undefined ? s.uptime_s + " s" : "—"));

    const tb = clear($("#fed-peers tbody"));
    fed.peers.forEach(function (p) {
      const btn = el("button", {type: "button", class: "redrive", "data-node": p.node, text: t("fed.redrive")});
      btn.disabled = !(p.dead_letters > 0);
      btn.addEventListener("click", function () { redrive(p.node); });
      tb.appendChild(el("tr", {"data-node": p.node, class: p.dead_letters > 0 ? "bad" : p.outbox_lag > 0 ? "warn" : ""},
        el("td", {text: p.node}), el("td", {text: p.last_contact ? localTime(p.last_contact) : t("fed.never")}),
        el("td", {class: "lag", text: String(p.outbox_lag)}), el("td", {class: "retries", text: String(p.retries)}),
        el("td", {class: "dead", text: String(p.dead_letters)}), el("td", {}, btn)));
    });
    const dead = clear($("#fed-dead"));
    const nodes = Object.keys(fed.dead);
    if (!nodes.length) dead.appendChild(el("p", {class: "muted", text: t("fed.nodead")}));
    nodes.forEach(function (n) {
      dead.appendChild(el("h3", {text: t("fed.deadof", n, fed.dead[n].length)}));
      const ul = el("ul", {class: "log", "data-node": n});
      fed.dead[n].forEach(function (d) {
        ul.appendChild(el("li", {text: (d.kind || "") + " " + (d.id || "") + " · " + t("fed.reason") + ": " + (d.reason || "—") +
          (d.dead_at ? " · " + localTime(new Date(d.dead_at).toISOString()) : "")}));
      });
      dead.appendChild(ul);
    });
    const at = clear($("#fed-anchors tbody"));
    (s.anchors || []).forEach(function (a) {
      const soon = a.expired || a.days_left !== undefined && a.days_left < 30;
      at.appendChild(el("tr", {class: soon ? "bad" : ""}, el("td", {text: a.node}), el("td", {text: a.subject || a.error || ""}),
        el("td", {text: a.not_after ? localTime(a.not_after) : "—"}), el("td", {text: a.days_left !== undefined ? String(a.days_left) : "—"})));
    });
    const errs = clear($("#fed-errors"));
    const list = s.recent_errors || [];
    if (!list.length) errs.appendChild(el("li", {class: "muted", text: t("fed.noerrors")}));
    list.forEach(function (e) { errs.appendChild(el("li", {class: e.level === "error" ? "bad" : "warn", text: (e.at || "") + " " + (e.level || "") + " " + e.message})); });
  }
  async function redrive(node) {
    const res = await api("POST", "/v1/federation/peers/" + encodeURIComponent(node) + "/dead-letters/redrive");
    const msg = res.status === 200 ? t("fed.redriven", res.json.redriven, node) : problemText(res);
    $("#fed-updated").textContent = msg;
    fedLoad();
  }

  /* ---------- start ---------- */
  async function start() {
    let res;
    try { res = await api("GET", "/v1/whoami"); } catch (e) { res = {status: 0, json: null, text: e.message}; }
    $("#loading").hidden = true;
    if (res.status !== 200 || !res.json) {
      $("#fatal").hidden = false;
      $("#fatal").textContent = t("neterr", problemText(res));
      return;
    }
    me = res.json;
    const saved = localStorage.getItem("crgw-lang");
    lang = saved === "en" || saved === "zh" ? saved : (me.lang === "en" ? "en" : "zh");
    $("#who-node").textContent = me.node.code + " " + me.node.name;
    $("#who-client").textContent = me.client + " · " + me.roles.join(", ");
    /* what the roles do not allow is not hidden: it is removed from the page */
    document.querySelectorAll("[data-roles]").forEach(function (s) {
      if (!has(s.getAttribute("data-roles").split(" "))) s.remove();
    });
    if ($("#page-verify")) initVerify();
    if ($("#page-repair")) initRepair();
    $("#lang-toggle").addEventListener("click", function () {
      lang = lang === "zh" ? "en" : "zh";
      localStorage.setItem("crgw-lang", lang);
      applyLang();
    });
    window.addEventListener("hashchange", show);
    applyLang();
    show();
    document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
    document.body.setAttribute("data-ready", "1");
  }
  document.addEventListener("DOMContentLoaded", start);
})();
