/** The API for people who write their own handlers or embed the gateway. */
export { BaseHandler, type HandlerContext, type HandlerInit, type HandleResult, type MessageFn } from './handlers/base-handler.ts';
export { RRDuinoHandler, type RRDuinoOptions } from './handlers/rrduino-handler.ts';
export type { HandlerDescription, RrdDescription } from './handlers/handler-description.ts';
export { HandlerRegistry, type HandlerClass } from './handlers/handler-registry.ts';
export { Gateway, type GatewayOptions } from './gateway.ts';
export type { Reading, ReadingSink } from './reading.ts';
export type { RrdStore } from './rrd/rrd-store.ts';
export type { RawMessage, SignedMessage } from './protocol/message.ts';
export * from './errors.ts';
