import { BaseHandler, type HandlerInit } from '../../src/handlers/base-handler.ts';
import { parseUpdate, type SignedMessage } from '../../src/protocol/message.ts';

/** Verifies each update and hands its reading on, as RRDuinoHandler does, but stores nothing (a module, so session workers can load it). */
export class VerifyOnlyHandler extends BaseHandler {
  constructor(init: HandlerInit) {
    super(init);
    this.registerMessageType('u', (m: SignedMessage) => this.context.publish({ clientId: this.clientId, timeMs: this.context.now(), values: parseUpdate(m.body).values }), true);
  }
}
