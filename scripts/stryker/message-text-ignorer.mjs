// @ts-check
// A Stryker ignorer: mutants of the words in error and log messages are not tested, because
// the tests match error codes, never message text (README, "The protocol…"). Error codes,
// log fields and everything else are still mutated.
import { PluginKind, declareClassPlugin } from '@stryker-mutator/api/plugin';

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);
/** Errors whose first argument is the message; the gateway's own take (code, message). */
const MESSAGE_FIRST = new Set(['Error', 'TypeError', 'RangeError', 'DeliveryError']);

class MessageTextIgnorer {
  /** @param {import('@babel/core').NodePath} path */
  shouldIgnore(path) {
    if (!path.isStringLiteral() && !path.isTemplateLiteral()) return undefined;
    const parent = path.parentPath;
    if (!parent) return undefined;
    const index = /** @type {{ arguments?: unknown[] }} */ (parent.node).arguments?.indexOf(path.node) ?? -1;
    if (index < 0) return undefined;
    if (parent.isCallExpression()) {
      const callee = parent.node.callee;
      if (callee.type === 'MemberExpression' && callee.property.type === 'Identifier' && LOG_LEVELS.has(callee.property.name)) {
        return 'log message text (tests match codes and fields, not words)';
      }
    }
    if (parent.isNewExpression() && parent.node.callee.type === 'Identifier' && /Error$/.test(parent.node.callee.name)) {
      const messageAt = MESSAGE_FIRST.has(parent.node.callee.name) ? 0 : 1;
      if (index === messageAt) return 'error message text (tests match error codes, not words)';
    }
    return undefined;
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Ignore, 'message-text', MessageTextIgnorer)];
