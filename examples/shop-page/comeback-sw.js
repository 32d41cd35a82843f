// Served from the shop's own origin root: a service worker must be same-origin.
importScripts("__COMEBACK_API__/v1/web/sw.js");
