// The reverse proxy that refuses (or swallows, or passes) WebSocket upgrades: one implementation,
// shared with the server's Node tests (net/http-fallback.test.ts).
export { startUpgradeProxy, type UpgradeProxy } from '../apps/server/test/helpers/upgrade-proxy.js'
