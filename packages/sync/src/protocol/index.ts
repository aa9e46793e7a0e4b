// The wire protocol: what the server and any client share. Nothing here knows about sockets,
// timers or the client (that is '@tandem/sync/provider'), so the server loads none of it.
export * from './message-type.js'
export * from './errors.js'
export * from './frame.js'
export * from './json-bytes.js'
export * from './update-scan.js'
export * from './room-name.js'
export * from './mux.js'
export * from './http-transport.js'
