// The client: SyncProvider and its option, event and socket types. The wire protocol it speaks
// is '@tandem/sync'.
export * from './provider.js'
export { sharedWebSocket } from './mux-socket.js'
