/* Comeback service worker code (sw.js). A service worker must come from the shop's own origin,
 * so the shop hosts a one-line file at its root that imports this one:
 *
 *   // https://yourshop.com/comeback-sw.js
 *   importScripts("https://API/v1/web/sw.js");
 *
 * Shows the notifications Comeback sends ({"title", "body", "url", "icon"?, "tag"}) and opens
 * the message's link on a click. That link is Comeback's tracked /v1/click redirect, so
 * opening it is what records the click. Plain ES2017, no dependencies.
 */
(() => {
  "use strict";

  function payloadOf(event) {
    if (!event.data) return {};
    try {
      const data = event.data.json();
      return data && typeof data === "object" ? data : {};
    } catch (e) {
      return { body: event.data.text() };
    }
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, self.location.origin);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  self.addEventListener("install", () => self.skipWaiting());
  self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

  self.addEventListener("push", (event) => {
    const data = payloadOf(event);
    const options = {
      body: typeof data.body === "string" ? data.body : "",
      data: { url: safeUrl(data.url) },
    };
    if (typeof data.icon === "string") options.icon = data.icon;
    if (typeof data.tag === "string") options.tag = data.tag;
    const title = typeof data.title === "string" && data.title ? data.title : self.location.host;
    event.waitUntil(self.registration.showNotification(title, options));
  });

  self.addEventListener("notificationclick", (event) => {
    event.notification.close();
    const url = event.notification.data && event.notification.data.url;
    if (!url) return;
    // A new tab, focused: the tracked link redirects to the shop's page.
    event.waitUntil(self.clients.openWindow(url));
  });
})();
