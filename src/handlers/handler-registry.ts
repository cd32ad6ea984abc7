import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ConfigError, ProfileError, errorMessage } from '../errors.ts';
import { BaseHandler, type HandlerInit } from './base-handler.ts';
import type { HandlerDescription } from './handler-description.ts';
import { RRDuinoHandler } from './rrduino-handler.ts';

/** A handler class: BaseHandler or a subclass, with its static option check and description. */
export interface HandlerClass {
  new (init: HandlerInit): BaseHandler;
  readonly name: string;
  validateOptions(options: unknown): void;
  describe(options: unknown, dataDir: string): HandlerDescription;
}

export const DEFAULT_HANDLER = 'RRDuinoHandler';

/** Handler classes by the name profiles use in `handler`. */
export class HandlerRegistry {
  readonly #classes = new Map<string, HandlerClass>();

  /** A registry with the built-in handlers. */
  static withBuiltins(): HandlerRegistry {
    return new HandlerRegistry().register(BaseHandler).register(RRDuinoHandler);
  }

  register(cls: HandlerClass, name = cls.name): this {
    if (!(cls.prototype instanceof BaseHandler) && cls !== BaseHandler) {
      throw new ConfigError('E_BAD_HANDLER', `${name} does not extend BaseHandler; a handler class must`);
    }
    this.#classes.set(name, cls);
    return this;
  }

  get(name: string): HandlerClass {
    const cls = this.#classes.get(name);
    if (cls === undefined) {
      throw new ProfileError('E_UNKNOWN_HANDLER', `unknown handler '${name}'; known: ${this.names().join(', ')}`, {
        field: '/handler',
      });
    }
    return cls;
  }

  names(): string[] {
    return [...this.#classes.keys()];
  }

  /**
   * Imports a module and registers every exported class that extends BaseHandler,
   * under its export name. This is how users add their own handlers (`--handlers`).
   */
  async loadModule(file: string): Promise<string[]> {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError('E_CONFIG_INVALID', `cannot load handler module ${file}: ${errorMessage(err)}`, { cause: err });
    }
    const added: string[] = [];
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === 'function' && value.prototype instanceof BaseHandler) {
        this.register(value as HandlerClass, name);
        added.push(name);
      }
    }
    if (added.length === 0) throw new ProfileError('E_UNKNOWN_HANDLER', `${file} exports no class that extends BaseHandler`);
    return added;
  }
}
