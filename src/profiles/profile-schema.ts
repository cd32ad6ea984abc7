/** JSON Schema of a profile file, `profiles/<client_id>.json`. `handler_options` is checked by the handler class. */
export const profileSchema = {
  $id: 'https://rrduino-gateway/profile.schema.json',
  type: 'object',
  required: ['key'],
  additionalProperties: false,
  properties: {
    key: {
      description: "The board's pre-shared key (its config.h CLIENT_KEY). Any non-empty text; under 16 characters is accepted with a warning.",
      type: 'string',
      minLength: 1,
      maxLength: 256,
      pattern: '^[\\x20-\\x7e]+$',
    },
    handler: {
      description: 'Name of the handler class. Default RRDuinoHandler.',
      type: 'string',
      pattern: '^[A-Za-z_$][A-Za-z0-9_$]{0,63}$',
    },
    handler_options: { description: 'Options for the handler class.', type: 'object' },
  },
} as const;

/** A profile as stored. */
export interface ProfileFile {
  key: string;
  handler?: string;
  handler_options?: Record<string, unknown>;
}
