// Keeps the page working offline once it has loaded: every file of the site (site.json lists
// them) is cached when this worker installs, under the site's version (registered as sw.js?v=...).
// Requests go to the network first, so an online page is always the served one; the cached copy
// answers only when the network does not, and always from one consistent version.
const CACHE = `fmnist-edge-${new URL(self.location.href).searchParams.get("v")}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const site = await (await fetch("site.json", { cache: "no-cache" })).json();
      await (await caches.open(CACHE)).addAll(site.files);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET") return;
  event.respondWith(
    fetch(event.request).catch(async () => {
      const cached = await caches.match(event.request, { cacheName: CACHE, ignoreSearch: true });
      return cached ?? Response.error();
    }),
  );
});
