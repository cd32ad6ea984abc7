import { describe, expect, it } from 'vitest';
import { RrdError } from '../../src/errors.ts';
import { classifyReplyLine, fillTemplate, formatCommand, templateKeys } from '../../src/rrd/rrd-command.ts';

describe('formatCommand', () => {
  it('joins plain arguments with spaces', () => {
    expect(formatCommand(['update', '/d/a.rrd', 'N:21.5'])).toBe('update /d/a.rrd N:21.5');
  });
  it('quotes an argument with blanks', () => {
    expect(formatCommand(['update', '/my data/a.rrd', 'N:1'])).toBe("update '/my data/a.rrd' N:1");
  });
  it('refuses a command without arguments', () => {
    expect(() => formatCommand([])).toThrow(expect.objectContaining({ code: 'E_RRD_BAD_ARG' }));
  });
  it('refuses quotes, line breaks and empty arguments', () => {
    for (const bad of ["a'b", 'a"b', 'a\nb', 'a\rb', '']) {
      expect(() => formatCommand(['update', bad])).toThrow(RrdError);
    }
  });
});

describe('classifyReplyLine', () => {
  it('reads OK, ERROR and output lines', () => {
    expect(classifyReplyLine('OK u:0.01 s:0.02 r:0.00')).toEqual({ kind: 'ok' });
    expect(classifyReplyLine('ERROR: f.rrd: illegal attempt')).toEqual({ kind: 'error', message: 'f.rrd: illegal attempt' });
    expect(classifyReplyLine('OKAY')).toEqual({ kind: 'data', text: 'OKAY' });
    expect(classifyReplyLine('OK')).toEqual({ kind: 'ok' }); // rrdtool's reply after its usage text
  });
});

describe('fillTemplate', () => {
  it('fills placeholders and writes U for unknown', () => {
    expect(fillTemplate('N:{t}:{h}', new Map<string, number | null>([['t', 21.5], ['h', null]]))).toBe('N:21.5:U');
  });
  it('throws for a missing key', () => {
    expect(() => fillTemplate('N:{t}', new Map())).toThrow(/missing 't'/);
  });
  it('lists template keys', () => {
    expect(templateKeys('N:{a}:{b}')).toEqual(['a', 'b']);
    expect(templateKeys('N:{temperature}:{humidity_2}')).toEqual(['temperature', 'humidity_2']);
  });
  it('fills long names, and writes U for a key that is there without a value', () => {
    const values = new Map<string, number | null>([['temperature', -3.25], ['humidity', null]]);
    expect(fillTemplate('N:{temperature}:{humidity}', values)).toBe('N:-3.25:U');
  });
});
