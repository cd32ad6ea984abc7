/**
 * Every error the gateway raises on purpose carries a stable `code`; callers and
 * tests match on the code, never on the message text. Messages say what to do.
 */
export type ErrorCode =
  // protocol (a board sent something wrong)
  | 'E_LINE_TOO_LONG'
  | 'E_NOT_ASCII'
  | 'E_EMPTY_LINE'
  | 'E_UNKNOWN_TYPE'
  | 'E_NO_SESSION'
  | 'E_BAD_CLIENT_ID'
  | 'E_UNKNOWN_CLIENT'
  | 'E_MALFORMED'
  | 'E_MISSING_HMAC'
  | 'E_BAD_HMAC'
  | 'E_BAD_VALUE'
  | 'E_BAD_PAIRS'
  | 'E_MISSING_FIELD'
  | 'E_HANDSHAKE_TIMEOUT'
  | 'E_IDLE_TIMEOUT'
  // profiles and configuration
  | 'E_PROFILE_INVALID'
  | 'E_PROFILE_UNREADABLE'
  | 'E_PROFILE_EXISTS'
  | 'E_UNKNOWN_HANDLER'
  | 'E_BAD_HANDLER'
  | 'E_CONFIG_INVALID'
  | 'E_HTTP'
  | 'E_SERIAL_OPEN'
  | 'E_RRDCACHED'
  | 'E_DATA_DIR'
  | 'E_DISK_FULL'
  // connections (logged, with the remote address)
  | 'E_TOO_MANY_CONNECTIONS'
  | 'E_TOO_MANY_UNVERIFIED'
  // rrdtool
  | 'E_RRD_COMMAND'
  | 'E_RRD_DIED'
  | 'E_RRD_BAD_ARG'
  | 'E_RRD_CLOSED'
  | 'E_GRAPH_BUSY'
  /** not an error: a reading coalesced with an earlier one of the same second */
  | 'W_RRD_COALESCED'
  // codecs and destinations
  | 'E_CODEC'
  | 'E_FRAME_TRUNCATED'
  | 'E_FRAME_TOO_LARGE'
  | 'E_VALUE_RANGE'
  | 'E_DELIVERY'
  | 'E_SPOOL'
  | 'E_SPOOL_FULL'
  // anything else: a bug; logged with its stack
  | 'E_INTERNAL';

export class GatewayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A board sent something the protocol does not allow (docs/protocol.md, "Gateway behaviour"). */
export class ProtocolError extends GatewayError {}

/** A profile file is missing, unreadable or invalid. `file` and `field` say where. */
export class ProfileError extends GatewayError {
  readonly file: string | undefined;
  readonly field: string | undefined;
  constructor(code: ErrorCode, message: string, where: { file?: string; field?: string; cause?: unknown } = {}) {
    super(code, message, { cause: where.cause });
    this.file = where.file;
    this.field = where.field;
  }
}

/** The gateway configuration (file or flags) is invalid. */
export class ConfigError extends GatewayError {}

/** rrdtool refused a command or the rrdtool process failed. */
export class RrdError extends GatewayError {}

/** A destination codec was given bytes or values it cannot encode or decode. */
export class CodecError extends GatewayError {}

/** A destination could not take a batch of points. */
export class DeliveryError extends GatewayError {
  /** Whether trying again later can succeed (network errors, 5xx) or not (4xx). */
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super('E_DELIVERY', message, options);
    this.retryable = retryable;
  }
}

export function errorCode(err: unknown): ErrorCode {
  return err instanceof GatewayError ? err.code : 'E_INTERNAL';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
