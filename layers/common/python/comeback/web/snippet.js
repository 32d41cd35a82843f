/* Comeback browser snippet (comeback.js). Plain ES2017, no dependencies, loaded async.
 *
 *   <script async src="https://API/v1/web/comeback.js" data-write-key="WRITE_KEY"></script>
 *
 * Sends Segment-format page, product and cart events to the tracking API, exposes
 * window.comeback (identify, track, page, productViewed, productAdded), offers browser push
 * behind a soft prompt after a valuable action, and shows the on-site messages the API picks.
 * Calls made before it loads can be queued: window.comeback = window.comeback || [];
 * comeback.push(["track", "Signed Up", {}]). See docs/browser.md.
 */
(() => {
  "use strict";
  const w = window;
  const d = document;
  if (w.comeback && w.comeback.loaded) return;

  const VERSION = "1.0.0";
  const PREFIX = "comeback.";
  const ANON_COOKIE = "cb_anon";
  const YEAR_SECONDS = 365 * 24 * 3600;
  const DAY_MS = 24 * 3600 * 1000;
  const FLUSH_DELAY_MS = 250;
  const MAX_ATTEMPTS = 3;
  const MOBILE_EXIT_DELAY_MS = 15000;

  const script = d.currentScript || d.querySelector("script[data-write-key]");
  const attr = (name) => (script && script.getAttribute(name)) || "";
  const writeKey = attr("data-write-key");
  const api = (attr("data-api") || (script && script.src ? new URL(script.src).origin : ""))
    .replace(/\/+$/, "");
  const swPath = attr("data-sw-path") || "/comeback-sw.js";
  const autoPage = attr("data-auto-page") !== "false";
  const queued = Array.isArray(w.comeback) ? w.comeback : [];

  // -- storage ---------------------------------------------------------------------------
  const store = {
    get(key) {
      try { return w.localStorage.getItem(PREFIX + key); } catch (e) { return null; }
    },
    set(key, value) {
      try { w.localStorage.setItem(PREFIX + key, String(value)); } catch (e) { /* private mode */ }
    },
    remove(key) {
      try { w.localStorage.removeItem(PREFIX + key); } catch (e) { /* private mode */ }
    },
  };

  function uuid() {
    if (w.crypto && typeof w.crypto.randomUUID === "function") return w.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    if (w.crypto && w.crypto.getRandomValues) w.crypto.getRandomValues(bytes);
    else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
      .join("-");
  }

  function readCookie(name) {
    const found = d.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }

  function writeCookie(name, value) {
    const secure = w.location.protocol === "https:" ? "; Secure" : "";
    d.cookie = `${name}=${encodeURIComponent(value)}; Max-Age=${YEAR_SECONDS}; Path=/; `
      + `SameSite=Lax${secure}`;
  }

  // Kept in memory until the shop's settings say we may track this browser at all.
  let anonymousId = readCookie(ANON_COOKIE) || store.get("anonymousId") || uuid();
  let userId = store.get("userId");

  // -- sending ---------------------------------------------------------------------------
  let config = null; // the shop's snippet settings, once fetched
  let disabled = false; // privacy signal honoured: nothing is sent or stored
  let buffer = [];
  let timer = null;
  // Until then, what happened on this page is kept in memory only.
  let pendingViews = 0;
  const pendingActions = [];

  function context() {
    let timezone;
    try { timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* old */ }
    return {
      library: { name: "comeback.js", version: VERSION },
      page: pageProperties(),
      userAgent: navigator.userAgent,
      locale: navigator.language,
      timezone,
    };
  }

  function pageProperties() {
    return {
      path: w.location.pathname,
      url: w.location.href,
      search: w.location.search,
      title: d.title,
      referrer: d.referrer,
    };
  }

  function enqueue(message) {
    if (disabled) return;
    const full = Object.assign(
      {
        messageId: uuid(),
        anonymousId,
        timestamp: new Date().toISOString(),
        context: context(),
      },
      userId ? { userId } : {},
      message,
    );
    buffer.push(full);
    if (config) schedule();
  }

  function schedule() {
    if (timer === null) timer = setTimeout(() => flush(false), FLUSH_DELAY_MS);
  }

  function flush(leaving) {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    if (disabled || !config || !buffer.length) return Promise.resolve();
    const batch = buffer;
    buffer = [];
    return post(batch, 1, leaving);
  }

  // text/plain keeps the request "simple" (no CORS preflight), so it can go out as the page
  // unloads; the API reads the JSON whatever the content type, and the write key is inside.
  function post(batch, attempt, leaving) {
    const body = JSON.stringify({ writeKey, batch, sentAt: new Date().toISOString() });
    return fetch(`${api}/v1/batch`, {
      method: "POST",
      body,
      keepalive: leaving || body.length < 60000,
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      credentials: "omit",
    }).then((response) => {
      if (response.status >= 500 || response.status === 429) throw new Error(response.status);
    }).catch(() => {
      // Same message ids on a retry, so the API counts each event once.
      if (attempt < MAX_ATTEMPTS && !leaving) {
        return new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt))
          .then(() => post(batch, attempt + 1, false));
      }
      return undefined;
    });
  }

  // -- the public API --------------------------------------------------------------------
  function page(properties) {
    const props = Object.assign(pageProperties(), properties || {});
    enqueue({ type: "page", name: d.title, properties: props });
    if (!config) { pendingViews += 1; return; }
    if (disabled) return;
    store.set("pageViews", pageViews() + 1);
    maybeOfferPush();
  }

  function track(event, properties) {
    if (typeof event !== "string" || !event) return;
    enqueue({ type: "track", event, properties: properties || {} });
    if (event === "Product Added") valuableAction("add_to_cart");
  }

  function identify(id, traits) {
    if (id && typeof id === "object") { traits = id; id = null; }
    if (id) { userId = String(id); if (!disabled && config) store.set("userId", userId); }
    enqueue({ type: "identify", traits: traits || {} });
  }

  const publicApi = {
    loaded: true,
    version: VERSION,
    page,
    track,
    identify,
    productViewed: (product) => track("Product Viewed", product),
    productAdded: (product) => track("Product Added", product),
    productRemoved: (product) => track("Product Removed", product),
    flush: () => flush(false),
    anonymousId: () => anonymousId,
    push: (call) => {
      if (call && typeof publicApi[call[0]] === "function") publicApi[call[0]](...call.slice(1));
    },
  };

  // -- privacy ---------------------------------------------------------------------------
  function privacySignal() {
    return navigator.globalPrivacyControl === true
      || navigator.doNotTrack === "1" || w.doNotTrack === "1";
  }

  function start(settings) {
    config = settings;
    if (config.respectPrivacySignals && privacySignal()) {
      disabled = true;
      buffer = [];
      return;
    }
    writeCookie(ANON_COOKIE, anonymousId);
    store.set("anonymousId", anonymousId);
    if (userId) store.set("userId", userId);
    store.set("pageViews", pageViews() + pendingViews);
    schedule();
    pendingActions.splice(0).forEach(valuableAction);
    maybeOfferPush();
    loadOnsite();
  }

  // -- push opt-in -----------------------------------------------------------------------
  const pageViews = () => parseInt(store.get("pageViews") || "0", 10) || 0;

  function pushSupported() {
    return "Notification" in w && "serviceWorker" in navigator && "PushManager" in w
      && w.isSecureContext !== false;
  }

  function valuableAction(name) {
    if (!config) { pendingActions.push(name); return; }
    if (disabled) return;
    if (config.pushPrompt && config.pushPrompt.after === name) store.set("pushArmed", "1");
    maybeOfferPush();
  }

  function maybeOfferPush() {
    const prompt = config && config.pushPrompt;
    if (disabled || !prompt || prompt.after === "never" || !pushSupported()) return;
    if (Notification.permission !== "default" || store.get("pushSubscribedAt")) return;
    const declined = parseInt(store.get("pushDeclinedAt") || "0", 10);
    if (declined && Date.now() - declined < prompt.cooldownDays * DAY_MS) return;
    if (prompt.after === "page_views" && pageViews() >= (prompt.pageViews || 0)) {
      store.set("pushArmed", "1");
    }
    // Never on the first page view, whatever the setting; only after the chosen action.
    if (pageViews() < 2 || store.get("pushArmed") !== "1") return;
    showSoftPrompt();
  }

  function showSoftPrompt() {
    if (d.querySelector("[data-comeback='push-prompt']")) return;
    const name = (config && config.shopName) || "this shop";
    const card = panel("push-prompt", "Notifications");
    text(card, "p", `Get notified about your cart and offers from ${name}?`);
    const allow = button(card, "Allow", true);
    const later = button(card, "Not now", false);
    const decline = () => { store.set("pushDeclinedAt", Date.now()); close(card); };
    later.addEventListener("click", decline);
    onEscape(card, decline);
    allow.addEventListener("click", () => {
      close(card);
      subscribe().catch(() => undefined);
    });
    mount(card);
  }

  async function subscribe() {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      store.set("pushDeclinedAt", Date.now());
      return;
    }
    await navigator.serviceWorker.register(swPath);
    const registration = await navigator.serviceWorker.ready;
    const keyAnswer = await fetch(`${api}/v1/push/public-key`, { credentials: "omit" });
    if (!keyAnswer.ok) return;
    const { publicKey } = await keyAnswer.json();
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64UrlBytes(publicKey),
    });
    const answer = await fetch(`${api}/v1/push/subscribe`, {
      method: "POST",
      credentials: "omit",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Basic ${btoa(`${writeKey}:`)}`,
      },
      body: JSON.stringify({
        anonymousId,
        messageId: uuid(),
        subscription: subscription.toJSON ? subscription.toJSON() : subscription,
      }),
    });
    if (answer.ok) {
      store.set("pushSubscribedAt", Date.now());
      store.remove("pushArmed");
    }
  }

  function base64UrlBytes(text) {
    const padded = (text + "===".slice((text.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  // -- on-site messages ------------------------------------------------------------------
  function shownToday() {
    const now = Date.now();
    return (store.get("onsiteShown") || "").split(",").map(Number)
      .filter((t) => t && now - t < DAY_MS);
  }

  function loadOnsite() {
    const onsite = config.onsite || {};
    if (!onsite.enabled || shownToday().length >= onsite.maxPerDay) return;
    const query = `writeKey=${encodeURIComponent(writeKey)}`
      + `&anonymousId=${encodeURIComponent(anonymousId)}`;
    fetch(`${api}/v1/web/onsite?${query}`, { credentials: "omit" })
      .then((response) => (response.ok ? response.json() : {}))
      .then((answer) => answer && answer.message && arm(answer.message))
      .catch(() => undefined);
  }

  function arm(message) {
    const show = () => showMessage(message);
    if (message.trigger === "delay") {
      setTimeout(show, (message.delay_seconds || 0) * 1000);
      return;
    }
    // Exit intent: the pointer leaves through the top of the window. Touch screens have no
    // pointer to leave with, so there it waits a while on the page instead.
    if (w.matchMedia && w.matchMedia("(hover: none)").matches) {
      setTimeout(show, MOBILE_EXIT_DELAY_MS);
      return;
    }
    const onLeave = (event) => {
      if (event.relatedTarget || event.clientY > 0) return;
      d.removeEventListener("mouseout", onLeave);
      show();
    };
    d.addEventListener("mouseout", onLeave);
  }

  function showMessage(message) {
    if (disabled || d.querySelector("[data-comeback='onsite']")) return;
    const shown = shownToday();
    if (shown.length >= ((config.onsite || {}).maxPerDay || 0)) return;
    store.set("onsiteShown", shown.concat(Date.now()).join(","));
    const kind = message.kind;
    const card = panel("onsite", message.title);
    text(card, "p", message.body);
    const closeButton = d.createElement("button");
    closeButton.type = "button";
    closeButton.setAttribute("aria-label", "Close");
    closeButton.textContent = "\u00d7";
    style(closeButton, {
      position: "absolute", top: "6px", right: "6px", width: "36px", height: "36px",
      border: "0", background: "transparent", fontSize: "24px", lineHeight: "1", cursor: "pointer",
      color: "inherit",
    });
    card.appendChild(closeButton);
    const closed = (how) => {
      track("Onsite Message Closed", { kind, how });
      close(card);
    };
    closeButton.addEventListener("click", () => closed("button"));
    onEscape(card, () => closed("escape"));
    const href = safeUrl(message.cta_url);
    if (href && message.cta_label) {
      const link = d.createElement("a");
      link.href = href;
      link.textContent = message.cta_label;
      link.setAttribute("data-comeback-cta", "");
      style(link, buttonLook(true));
      link.addEventListener("click", () => {
        track("Onsite Message Clicked", { kind });
        flush(true);
      });
      card.appendChild(link);
    }
    mount(card);
    track("Onsite Message Shown", { kind, trigger: message.trigger });
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, w.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // -- a small card, not a takeover ------------------------------------------------------
  function style(element, rules) { Object.assign(element.style, rules); }

  function buttonLook(primary) {
    return {
      display: "inline-block", margin: "8px 8px 0 0", padding: "8px 14px", borderRadius: "6px",
      border: "1px solid #222", font: "inherit", fontSize: "15px", cursor: "pointer",
      textDecoration: "none", background: primary ? "#222" : "#fff",
      color: primary ? "#fff" : "#222",
    };
  }

  function panel(kind, title) {
    const card = d.createElement("div");
    card.setAttribute("data-comeback", kind);
    card.setAttribute("role", "dialog");
    card.setAttribute("aria-modal", "false");
    const titleId = `comeback-${kind}-title`;
    card.setAttribute("aria-labelledby", titleId);
    style(card, {
      position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
      boxSizing: "border-box", width: "calc(100% - 32px)", maxWidth: "360px", maxHeight: "50vh",
      overflow: "auto", padding: "16px 44px 16px 16px", borderRadius: "10px",
      background: "#fff", color: "#222", boxShadow: "0 4px 24px rgba(0,0,0,.25)",
      font: "15px/1.4 system-ui, sans-serif",
    });
    const heading = text(card, "strong", title);
    heading.id = titleId;
    style(heading, { display: "block", marginBottom: "4px", fontSize: "16px" });
    return card;
  }

  function text(parent, tag, value) {
    const element = d.createElement(tag);
    element.textContent = value == null ? "" : String(value); // never markup from data
    style(element, { margin: "0" });
    parent.appendChild(element);
    return element;
  }

  function button(parent, label, primary) {
    const element = d.createElement("button");
    element.type = "button";
    element.textContent = label;
    style(element, buttonLook(primary));
    parent.appendChild(element);
    return element;
  }

  function onEscape(card, action) {
    const listener = (event) => {
      if (event.key === "Escape" && card.isConnected) action();
    };
    card.escapeListener = listener;
    d.addEventListener("keydown", listener);
  }

  function mount(card) {
    const attach = () => d.body.appendChild(card);
    if (d.body) attach();
    else d.addEventListener("DOMContentLoaded", attach);
  }

  function close(card) {
    if (card.escapeListener) d.removeEventListener("keydown", card.escapeListener);
    card.remove();
  }

  // -- declarative markup: data-comeback-product-viewed, data-comeback-add-to-cart -------
  function productFrom(element, name) {
    try { return JSON.parse(element.getAttribute(name) || "{}"); } catch (e) { return null; }
  }

  function scanMarkup() {
    d.querySelectorAll("[data-comeback-product-viewed]").forEach((element) => {
      const product = productFrom(element, "data-comeback-product-viewed");
      if (product) publicApi.productViewed(product);
    });
  }

  d.addEventListener("click", (event) => {
    const target = event.target && event.target.closest
      && event.target.closest("[data-comeback-add-to-cart]");
    if (!target) return;
    const product = productFrom(target, "data-comeback-add-to-cart");
    if (product) publicApi.productAdded(product);
  });

  // -- start -----------------------------------------------------------------------------
  w.comeback = publicApi;
  const leaving = () => flush(true);
  w.addEventListener("pagehide", leaving);
  d.addEventListener("visibilitychange", () => { if (d.visibilityState === "hidden") leaving(); });

  if (autoPage) page();
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", scanMarkup);
  else scanMarkup();
  queued.forEach((call) => publicApi.push(call));

  const defaults = {
    respectPrivacySignals: true,
    pushPrompt: { after: "add_to_cart", pageViews: null, cooldownDays: 30 },
    onsite: { enabled: false, maxPerDay: 0 },
  };
  const configUrl = `${api}/v1/web/config?writeKey=${encodeURIComponent(writeKey)}`;
  // No key, or one the API does not know (401): the snippet stays silent.
  const configAnswer = writeKey && api
    ? fetch(configUrl, { credentials: "omit" })
    : Promise.resolve(null);
  publicApi.ready = configAnswer
    .then((response) => {
      if (!response || response.status === 401 || response.status === 403) return null;
      return response.ok ? response.json() : defaults;
    })
    .catch(() => defaults)
    .then((settings) => {
      if (settings) start(settings);
      else { config = defaults; disabled = true; buffer = []; }
      return publicApi;
    });
})();
